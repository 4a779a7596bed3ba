import {lstatSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {type Requeued} from '../backend.js'
import {ioError, isErrno} from '../errors.js'
import {reasonPath} from './dead-letter.js'
import {readHeaderAt} from './header.js'
import {filesystemNow, kindOf, listEntries, moveFile, replaceFileDurably, fsyncPath} from './fs.js'
import {sweepKeys} from './keys.js'
import {QueueDirs} from './layout.js'
import {isMessageId} from '../message-id.js'
import {formatName, type MessageName, parseName} from './message-name.js'
import {PRIORITY_DIR, readyDir} from './paths.js'
import {quarantine} from './quarantine.js'
import {failureDir, forgetFailure} from './failures.js'
import {isRealDir} from './create-queue.js'
import {claimedRule} from './reclaim.js'
import {leafBuckets, type MessageEntry, messageFiles} from './walk.js'

/**
 * Administration of one queue. Each step is a rename or an unlink of one entry, safe against
 * consumers working at the same time: if a consumer claims a message first, our unlink or
 * rename gets ENOENT and the message is left to it. Callers take withQueueLock (lock.ts) so
 * that two maintainers do not repeat each other's work. unlink(2) removes a symlink itself,
 * never its target, and the walks never descend into one (walk.ts).
 */

export const PAUSE_FILE = 'paused'

/** pause: a marker file that pop and consume in every process respect until resume. */
export function pauseQueue(q: QueueDirs): void {
  replaceFileDurably(join(q.root, PAUSE_FILE), `paused at ${new Date().toISOString()} by pid ${process.pid}\n`, q.perms)
}

export function resumeQueue(q: QueueDirs): boolean {
  try {
    unlinkSync(join(q.root, PAUSE_FILE))
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false
    throw ioError('unlink', join(q.root, PAUSE_FILE), error)
  }
  fsyncPath(q.root)
  return true
}

export function isPaused(q: QueueDirs): boolean {
  return lstatSync(q.paused, {throwIfNoEntry: false}) !== undefined
}

export type PurgeState = 'dead' | 'delayed' | 'done' | 'ready'

/** Every bucket, the current one too, is removed once emptied (purge empties them). */
const EVERY_BUCKET = ['~', '~'] as const

/** The message files of a queue's ready tree (every priority), in no particular order. */
function* readyFiles(q: QueueDirs, repair: boolean): Generator<MessageEntry> {
  const current = EVERY_BUCKET
  for (const e of listEntries(q.new)) {
    if (!e.isDirectory() || !PRIORITY_DIR.test(e.name)) {
      if (repair) quarantine(q, join(q.new, e.name), `a ${kindOf(e)} where a priority directory must be`)
      continue
    }
    for (const dir of leafBuckets(q, join(q.new, e.name), {pruneBefore: current, repair, what: 'ready'})) yield* messageFiles(q, dir, repair)
  }
}

function* delayedFiles(q: QueueDirs, repair: boolean): Generator<MessageEntry> {
  const current = EVERY_BUCKET
  for (const dir of leafBuckets(q, q.delay, {pruneBefore: current, repair, what: 'delay'})) yield* messageFiles(q, dir, repair)
}

/**
 * The dead letters: regular files named like messages. Their reasons (ID.reason) and reasons
 * being written (.ID.reason.PID) are not messages; anything else is damage.
 */
export function deadFiles(q: QueueDirs, repair: boolean): MessageEntry[] {
  const out: MessageEntry[] = []
  for (const e of listEntries(q.dead)) {
    if (e.name.startsWith('.') || (e.name.endsWith('.reason') && isMessageId(e.name.slice(0, -7)))) continue
    const path = join(q.dead, e.name)
    const m = e.isFile() ? parseName(e.name) : null
    if (!m) {
      if (repair) quarantine(q, path, e.isFile() ? 'not a message name' : `a ${kindOf(e)} where a dead letter must be`)
      continue
    }
    out.push({m, name: e.name, path})
  }
  return out
}

/**
 * purge: unlink every message in the given states. In-flight messages are never purged (their
 * consumers hold leases). RACE: a consumer claiming a ready message while we purge: its rename
 * and our unlink are atomic against each other; whichever runs first wins, so a message is
 * either purged or delivered, never both and never lost in between. Messages pushed after a
 * bucket was listed are not purged. Returns the count per state.
 */
export function purgeQueue(q: QueueDirs, states: PurgeState[], onProgress?: (n: number) => void): Record<PurgeState, number> {
  const counts: Record<PurgeState, number> = {dead: 0, delayed: 0, done: 0, ready: 0}
  let total = 0
  const remove = (path: string, state: PurgeState): boolean => {
    try {
      unlinkSync(path)
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false
      throw ioError('unlink', path, error)
    }
    counts[state]++
    if (++total % 1000 === 0) onProgress?.(total)
    return true
  }
  for (const state of states) {
    if (state === 'ready') for (const f of readyFiles(q, true)) remove(f.path, 'ready')
    if (state === 'delayed') for (const f of delayedFiles(q, true)) remove(f.path, 'delayed')
    if (state === 'done') for (const f of messageFiles(q, q.done, true)) remove(f.path, 'done')
    if (state === 'dead') {
      for (const f of deadFiles(q, true)) if (remove(f.path, 'dead')) unlinkQuietly(reasonPath(q, f.m.id))
      // Reasons whose dead letter is gone (a crash between the two, or a racing requeue).
      for (const e of listEntries(q.dead)) if (e.name.endsWith('.reason') && !e.isDirectory()) unlinkQuietly(join(q.dead, e.name))
    }
  }
  onProgress?.(total)
  return counts
}

/**
 * requeue (redrive): move dead letters back to ready, with their delivery count reset to 0
 * and their reason removed. Only the given ids, or all. A message whose expiry has passed
 * comes back without it (name field "x"; the file itself never changes): it would only die
 * again at once. Returns the ids moved.
 */
export function requeueDead(q: QueueDirs, ids?: string[], now: number = Date.now()): Requeued {
  const out: Requeued = {expiryCleared: [], requeued: []}
  const wanted = ids ? new Set(ids) : undefined
  for (const {m, path} of deadFiles(q, true).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (wanted && !wanted.has(m.id)) continue
    const expired = m.header && !m.noExpiry && expiredAt(path, m.header, now)
    const fresh: MessageName = {...m, attempt: 0, ...(expired ? {noExpiry: true} : {})}
    if (moveFile(path, readyDir(q, fresh), formatName(fresh), undefined, q.perms)) {
      out.requeued.push(m.id)
      if (expired) out.expiryCleared.push(m.id)
      unlinkQuietly(reasonPath(q, m.id))
      forgetFailure(q, m.id)
    }
  }
  return out
}

/** Whether a message file's header expiry has passed. */
function expiredAt(path: string, hasHeader: boolean, now: number): boolean {
  try {
    const e = readHeaderAt(path, hasHeader).header.expiresAt
    return e !== undefined && e <= now
  } catch {
    return false // unreadable here: the claim decides
  }
}

export interface GcOptions {
  /** Remove done/ entries acked longer ago than this (their ctime: rename sets it). */
  doneOlderThanMs: number
  /** Remove tmp/ files (abandoned writes) older than this. */
  tmpOlderThanMs: number
  /** This process's clock (key expiry); file ages are read against the filesystem's (fs.ts filesystemNow). */
  now?: number
}

export interface GcResult {
  done: number
  keys: number
  tmp: number
}

/**
 * gc: remove old done/ entries, abandoned tmp/ files, keys that no longer hold (expired, or
 * taken by a producer that died before its message became visible) and orphan dead-letter
 * reasons. Keys are swept before tmp/, so a key never outlives the abandoned file it names.
 * Quarantined files in bad/ are left for a person to look at.
 */
export function gcQueue(q: QueueDirs, opts: GcOptions, onProgress?: (n: number) => void): GcResult {
  const now = opts.now ?? Date.now()
  const fileNow = opts.now ?? filesystemNow(q.tmp)
  let total = 0
  const tick = () => {
    if (++total % 1000 === 0) onProgress?.(total)
  }
  const done = removeOld(q.done, opts.doneOlderThanMs, fileNow, (s) => s.ctimeMs, tick)
  const keys = sweepKeys(q.keys, q.tmp, now, opts.tmpOlderThanMs, fileNow)
  const tmp = removeOld(q.tmp, opts.tmpOlderThanMs, fileNow, (s) => s.mtimeMs, tick)
  // A reason whose dead letter is not there (a crash between writing it and the rename), and
  // temp reasons (".ID.reason.PID") of a process that died while writing one, once as old as
  // an abandoned tmp file.
  const live = new Set(deadFiles(q, false).map((f) => f.m.id))
  for (const e of listEntries(q.dead)) {
    const orphan = e.name.startsWith('.') || (e.name.endsWith('.reason') && !live.has(e.name.slice(0, -7)))
    if (!orphan || e.isDirectory()) continue
    const st = lstatSync(join(q.dead, e.name), {throwIfNoEntry: false})
    if (st && fileNow - st.mtimeMs >= opts.tmpOlderThanMs) unlinkQuietly(join(q.dead, e.name))
  }
  // Failures recorded for messages no longer waiting (acked, dead, purged), as old as an
  // abandoned tmp file: the ids still waiting are read first, then the rest go.
  const failures = isRealDir(failureDir(q)) ? listEntries(failureDir(q)).filter((e) => e.isFile() && isMessageId(e.name)) : []
  if (failures.length > 0) {
    const waiting = new Set<string>()
    for (const f of readyFiles(q, false)) waiting.add(f.m.id)
    for (const f of delayedFiles(q, false)) waiting.add(f.m.id)
    for (const dir of [q.cur, ...leafBuckets(q, q.cur, {filesAtTop: true, repair: false, what: 'lease'})]) for (const f of messageFiles(q, dir, false, claimedRule, dir === q.cur)) waiting.add(f.m.id)
    for (const e of failures) {
      if (waiting.has(e.name)) continue
      const st = lstatSync(join(failureDir(q), e.name), {throwIfNoEntry: false})
      if (st && fileNow - st.mtimeMs >= opts.tmpOlderThanMs) forgetFailure(q, e.name)
    }
  }
  onProgress?.(total)
  return {done, keys, tmp}
}

/** gc of a topic: its abandoned tmp/ files (pushes whose producer died) and its keys. */
export function gcTopicDir(dir: string, opts: GcOptions): {keys: number; tmp: number} {
  const now = opts.now ?? Date.now()
  const fileNow = opts.now ?? filesystemNow(join(dir, 'tmp'))
  const keys = sweepKeys(join(dir, 'keys'), join(dir, 'tmp'), now, opts.tmpOlderThanMs, fileNow)
  const tmp = removeOld(join(dir, 'tmp'), opts.tmpOlderThanMs, fileNow, (s) => s.mtimeMs, () => {})
  return {keys, tmp}
}

/** Unlinks the entries of dir (never a directory: unlink removes a symlink, not its target) older than olderThan. */
function removeOld(dir: string, olderThan: number, now: number, timeOf: (s: {ctimeMs: number; mtimeMs: number}) => number, tick: () => void): number {
  let n = 0
  for (const e of listEntries(dir)) {
    if (e.isDirectory()) continue
    const path = join(dir, e.name)
    const st = lstatSync(path, {throwIfNoEntry: false})
    if (!st || now - timeOf(st) < olderThan) continue
    try {
      unlinkSync(path)
      n++
      tick()
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw ioError('unlink', path, error)
    }
  }
  return n
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}
