import {lstatSync, renameSync, rmdirSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {lazy} from '../lazy.js'
import {createFile, ensureDir, fsyncPath, listEntries, NotRegularFileError, type Perms, readRegular, removeEmptyDir} from './fs.js'

/**
 * Idempotency keys (man/mq-spool.5, KEYS).
 *
 *   KEYS/HASH/            a held key: a directory holding exactly one record
 *   KEYS/HASH/ID          the holder's record, named by its message id:
 *                         {"key","id","expiresAt","pid","host","tmp"}
 *   KEYS/.new.PID.ID/     a record being prepared
 *
 * Taking a key is one rename(2) of the prepared directory onto KEYS/HASH. rename replaces a
 * missing or *empty* directory and fails (ENOTEMPTY/EEXIST) on a non-empty one: a
 * compare-and-swap, so of several producers exactly one takes a free key. A holder that no
 * longer holds (expired, or abandoned: see below) is removed by unlinking its record, whose
 * name is unique to it; that empties KEYS/HASH, and the next rename onto it wins. A fresh
 * holder can never be removed by a producer that read an older one (no ABA), because it has
 * another name.
 *
 * A holder is abandoned when its message never became visible and never will: its tmp file
 * (`tmp` in the record) is still in tmp/, and its producer is dead (same host, no such pid) or
 * the tmp file is older than ABANDONED_AFTER_MS (a producer on another host, or a stopped one).
 * The taker first renames that tmp file to tmp/.abandoned.NAME: of the producer's own rename
 * into new/ and the takers' renames, exactly one wins, so the old message either became visible
 * (the key holds) or never will (the key is free). A push that fails after taking its key
 * releases it (releaseKey). Legacy keys (mq-spool 1: KEYS/HASH a file) are read and replaced.
 */
export interface KeyRecord {
  key: string
  id: string
  expiresAt: number
  pid?: number
  host?: string
  /** The holder's message file name in its tmp directory, until it is renamed into view. */
  tmp?: string
}

export const ABANDONED_AFTER_MS = 10 * 60 * 1000
/** How long a push waits for another producer that holds its key to finish its own push. */
const IN_USE_WAIT_MS = 2000
let host: string | undefined
const HOST = () => (host ??= lazy.os().hostname())

export function keyDir(keysDir: string, key: string): string {
  return join(keysDir, lazy.crypto().createHash('sha256').update(key).digest('hex'))
}

export type KeyClaim = {held: KeyRecord} | {release: () => void; won: true}

/**
 * claimKey: hold `key` for message `id` (staged as tmpDir/tmpName) until now + ttlMs; or return
 * the record of whoever holds it. Durable: the key is fsynced before this returns, so it never
 * outlives a power cut less than its message does. On {won}, `release` gives the key back (for
 * a push that then fails).
 */
export function claimKey(keysDir: string, tmpDir: string, key: string, rec: {id: string; tmp: string}, ttlMs: number, perms: Perms, now: number = Date.now()): KeyClaim {
  for (const d of ensureDir(keysDir, perms)) fsyncPath(d)
  const path = keyDir(keysDir, key)
  const record: KeyRecord = {expiresAt: now + ttlMs, host: HOST(), id: rec.id, key, pid: process.pid, tmp: rec.tmp}
  let fileNow: number | undefined
  const prep = join(keysDir, `.new.${process.pid}.${rec.id}`)
  ensureDir(prep, perms)
  try {
    createFile(join(prep, rec.id), JSON.stringify(record), perms, true)
    for (let tries = 0; tries < 1000; tries++) {
      try {
        renameSync(prep, path)
        fsyncPath(keysDir)
        return {release: () => releaseKey(path, rec.id), won: true}
      } catch (error) {
        if (!isErrno(error, 'ENOTEMPTY', 'EEXIST', 'ENOTDIR')) throw ioError('rename', `${prep} -> ${path}`, error)
      }
      const holder = readHolder(path)
      if (holder === 'free') continue
      if (holder.kind === 'legacy-file' || holder.kind === 'damaged') {
        // Not a key directory (mq-spool 1's key file, or something foreign): set it aside
        // if it no longer holds, then try again.
        if (holder.record && holder.record.expiresAt > now) return {held: holder.record}
        setAside(path, now)
        continue
      }
      const {file, record: r} = holder as Extract<Holder, {kind: 'record'}>
      if (r.expiresAt > now) {
        // A holder's staged file is old by the filesystem's clock, which stamped it: ours, staged
        // a moment ago, says what that clock reads now (a process's own clock may be off).
        fileNow ??= lstatSync(join(tmpDir, rec.tmp), {throwIfNoEntry: false})?.mtimeMs ?? now
        const state = abandoned(r, tmpDir, fileNow)
        if (state === 'published') return {held: r}
        if (state === 'in-use') {
          // Its producer is between taking the key and making the message visible (a moment).
          // Wait for the outcome rather than answer "duplicate" for a push that may yet fail.
          if (Date.now() - now >= IN_USE_WAIT_MS) return {held: r}
          sleepSync(2)
          tries--
          continue
        }
      }
      // Expired or abandoned: remove that holder's record (its name is its own), then retry.
      unlinkQuietly(join(path, file))
    }
    throw ioError('rename', path, Object.assign(new Error('key contended too long'), {code: 'EBUSY'}))
  } finally {
    removeTree(prep)
  }
}

/** Gives a key back (the push that took it failed): its record is removed, the key is free. */
export function releaseKey(path: string, id: string): void {
  unlinkQuietly(join(path, id))
  removeEmptyDir(path)
}

type Holder =
  | 'free'
  | {kind: 'damaged' | 'legacy-file'; record?: KeyRecord}
  | {file: string; kind: 'record'; record: KeyRecord}

/** Who holds KEYS/HASH now. */
function readHolder(path: string): Holder {
  const st = lstatSync(path, {throwIfNoEntry: false})
  if (!st) return 'free'
  if (!st.isDirectory()) {
    if (!st.isFile()) return {kind: 'damaged'}
    return {kind: 'legacy-file', record: parseRecord(path)}
  }
  const entries = listEntries(path).filter((e) => !e.name.startsWith('.'))
  if (entries.length === 0) return 'free'
  const e = entries[0]
  const record = e.isFile() ? parseRecord(join(path, e.name)) : undefined
  // A damaged record holds nothing: its entry is removed like an expired one.
  return {file: e.name, kind: 'record', record: record ?? {expiresAt: 0, id: e.name, key: ''}}
}

function parseRecord(path: string): KeyRecord | undefined {
  try {
    const r = JSON.parse(readRegular(path, 1 << 20).toString('utf8')) as KeyRecord
    return r && typeof r.id === 'string' && typeof r.expiresAt === 'number' ? r : undefined
  } catch (error) {
    if (error instanceof NotRegularFileError || error instanceof SyntaxError || isErrno(error, 'ENOENT')) return undefined
    throw ioError('read', path, error)
  }
}

/**
 * Whether a live holder's message is 'published' (its tmp file is gone: renamed into view),
 * 'in-use' (its producer is between taking the key and that rename), or 'abandoned' (see
 * above; this call then took its tmp file away, so it can never be published).
 */
function abandoned(r: KeyRecord, tmpDir: string, now: number): 'abandoned' | 'in-use' | 'published' {
  if (!r.tmp) return 'published' // mq-spool 1 records do not say
  const tmp = join(tmpDir, r.tmp)
  const st = lstatSync(tmp, {throwIfNoEntry: false})
  if (!st) return lstatSync(join(tmpDir, `.abandoned.${r.tmp}`), {throwIfNoEntry: false}) ? 'abandoned' : 'published'
  // A topic's tmp file already linked into some subscribers is partly visible: it holds.
  if (st.nlink > 1) return 'in-use'
  const dead = r.host === HOST() && r.pid !== undefined && !processAlive(r.pid)
  if (!dead && now - st.mtimeMs < ABANDONED_AFTER_MS) return 'in-use'
  try {
    renameSync(tmp, join(tmpDir, `.abandoned.${r.tmp}`))
    return 'abandoned'
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw ioError('rename', tmp, error)
    // RACE: the producer's rename into new/ or another taker's won.
    return lstatSync(join(tmpDir, `.abandoned.${r.tmp}`), {throwIfNoEntry: false}) ? 'abandoned' : 'published'
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return isErrno(error, 'EPERM') // alive, someone else's
  }
}

function setAside(path: string, now: number): void {
  try {
    renameSync(path, `${path}.expired.${process.pid}.${now}`)
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw ioError('rename', path, error)
  }
}

/**
 * sweepKeys: gc's part. Releases keys that no longer hold (expired, or abandoned: their
 * producer died before the message became visible), removes set-aside and half-prepared
 * entries of dead producers, and quarantines nothing: what is not a key is left for a person.
 * Returns how many keys were released. `now` is this process's clock (key expiry: records are
 * stamped with it); `fileNow` the filesystem's (ages of files: fs.ts filesystemNow).
 */
export function sweepKeys(keysDir: string, tmpDir: string, now: number = Date.now(), olderThanMs = 3_600_000, fileNow = now): number {
  let n = 0
  for (const e of listEntries(keysDir)) {
    const path = join(keysDir, e.name)
    if (e.name.startsWith('.') || e.name.includes('.expired.')) {
      // A record being prepared, or set aside: its producer died if it is this old.
      const st = lstatSync(path, {throwIfNoEntry: false})
      if (st && fileNow - st.mtimeMs >= olderThanMs) {
        removeTree(path)
        n++
      }
      continue
    }
    const holder = readHolder(path)
    if (holder === 'free') {
      removeEmptyDir(path)
      continue
    }
    if (holder.kind !== 'record') {
      if (holder.kind === 'legacy-file' && (!holder.record || holder.record.expiresAt <= now)) {
        unlinkQuietly(path)
        n++
      }
      continue
    }
    if (holder.record.expiresAt > now && abandoned(holder.record, tmpDir, fileNow) !== 'abandoned') continue
    releaseKey(path, holder.file)
    n++
  }
  return n
}

/** Removes a small directory tree of ours (a prepared or set-aside key); never follows a link. */
function removeTree(path: string): void {
  const st = lstatSync(path, {throwIfNoEntry: false})
  if (!st) return
  if (!st.isDirectory()) return unlinkQuietly(path)
  for (const e of listEntries(path)) unlinkQuietly(join(path, e.name))
  try {
    rmdirSync(path)
  } catch {
    // not empty (not ours to empty further) or gone
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}
