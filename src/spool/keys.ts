import {linkSync, lstatSync, readFileSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {ensureDir, fsyncPath, listDir} from './fs.js'

/**
 * Idempotency keys. A key is held by a file KEYS/SHA256(key) created with O_EXCL, holding
 * {"key","id","expiresAt"}: the exclusive create is the atomic "first one wins", so of two
 * producers pushing the same key at once exactly one creates a message.
 *
 * An expired key file is first renamed aside (KEYS/HASH.expired.PID.MS): only one of several
 * racing producers' renames succeeds, and each of them then retries the exclusive create, so
 * expiry does not open a window for two messages either.
 */
export interface KeyRecord {
  key: string
  id: string
  expiresAt: number
}

export function keyFile(keysDir: string, key: string): string {
  return join(keysDir, createHash('sha256').update(key).digest('hex'))
}

/**
 * Holds `key` for message `id` until now + ttlMs; or returns the record of whoever holds it.
 * The record is written to a temp file first and link(2)ed into place, so a key file is never
 * seen half-written: link either creates the complete file or fails with EEXIST.
 */
export function claimKey(keysDir: string, key: string, id: string, ttlMs: number, now: number = Date.now()): {held: KeyRecord} | {won: true} {
  // A new keys/ directory's own entry must be durable too, or a power cut could drop every key.
  for (const d of ensureDir(keysDir)) fsyncPath(d)
  const path = keyFile(keysDir, key)
  const tmp = join(keysDir, `.tmp.${process.pid}.${id}`)
  writeFileSync(tmp, JSON.stringify({expiresAt: now + ttlMs, id, key}))
  try {
    for (let tries = 0; tries < 100; tries++) {
      try {
        linkSync(tmp, path)
        fsyncPath(keysDir) // the key must not outlive a power cut less than its message does
        return {won: true}
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw ioError('link', path, error)
      }
      const held = readKey(path)
      if (held === 'gone') continue // set aside by another producer meanwhile: try again
      if (held && held.expiresAt > now) return {held}
      // Expired (or unreadable): set it aside. RACE: of several producers doing this, one
      // rename wins; all go round again and exactly one link succeeds.
      try {
        renameSync(path, `${path}.expired.${process.pid}.${now}`)
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw ioError('rename', path, error)
      }
    }
    throw ioError('link', path, Object.assign(new Error('key contended too long'), {code: 'EBUSY'}))
  } finally {
    try {
      unlinkSync(tmp)
    } catch {
      // already gone
    }
  }
}

function readKey(path: string): KeyRecord | 'gone' | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return 'gone'
    throw ioError('read', path, error)
  }
  try {
    return JSON.parse(text) as KeyRecord
  } catch {
    return undefined // damaged: treated as expired
  }
}

/** Removes expired key files and set-aside ones; returns how many. */
export function sweepKeys(keysDir: string, now: number = Date.now()): number {
  let n = 0
  for (const name of listDir(keysDir)) {
    const path = join(keysDir, name)
    if (name.startsWith('.tmp.')) {
      // A producer's key being written; older than an hour, its producer died.
      const st = lstatSync(path, {throwIfNoEntry: false})
      if (!st || now - st.mtimeMs < 3_600_000) continue
    }
    const held = name.includes('.') ? undefined : readKey(path)
    if (held === 'gone' || (held && held.expiresAt > now)) continue
    try {
      unlinkSync(path)
      n++
    } catch {
      // raced with another sweeper
    }
  }
  return n
}
