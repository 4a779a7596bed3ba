import {lstatSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {reasonPath} from './dead-letter.js'
import {fsyncPath, listDir, listSorted, moveFile, removeEmptyDir} from './fs.js'
import {sweepKeys} from './keys.js'
import {QueueDirs} from './layout.js'
import {formatName, parseName} from './message-name.js'
import {readyDir} from './paths.js'

/**
 * Administration of one queue. Each step is a rename or an unlink of one file, safe against
 * consumers working at the same time: if a consumer claims a message first, our unlink or
 * rename gets ENOENT and the message is left to it. Callers take withQueueLock (lock.ts) so
 * that two maintainers do not repeat each other's work.
 */

export const PAUSE_FILE = 'paused'

/** pause: a marker file that pop and consume in every process respect until resume. */
export function pauseQueue(q: QueueDirs): void {
  writeFileSync(join(q.root, PAUSE_FILE), `paused at ${new Date().toISOString()} by pid ${process.pid}\n`)
  fsyncPath(q.root)
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
  return lstatSync(join(q.root, PAUSE_FILE), {throwIfNoEntry: false}) !== undefined
}

export type PurgeState = 'dead' | 'delayed' | 'done' | 'ready'

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
  const unlinkAll = (dir: string, state: PurgeState, keep?: (name: string) => boolean) => {
    for (const name of listDir(dir)) {
      if (keep?.(name)) continue
      try {
        unlinkSync(join(dir, name))
        counts[state]++
        if (++total % 1000 === 0) onProgress?.(total)
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw ioError('unlink', join(dir, name), error)
      }
    }
  }
  const walk = (root: string, depth: number, state: PurgeState) => {
    if (depth === 0) return unlinkAll(root, state)
    for (const n of listSorted(root)) {
      walk(join(root, n), depth - 1, state)
      removeEmptyDir(join(root, n))
    }
  }
  for (const state of states) {
    if (state === 'ready') for (const p of listDir(q.new)) walk(join(q.new, p), 2, 'ready')
    if (state === 'delayed') walk(q.delay, 2, 'delayed')
    if (state === 'done') unlinkAll(q.done, 'done')
    if (state === 'dead') {
      unlinkAll(q.dead, 'dead', (n) => n.endsWith('.reason'))
      for (const n of listDir(q.dead)) if (n.endsWith('.reason')) unlinkSync(join(q.dead, n))
    }
  }
  return counts
}

/**
 * requeue (redrive): move dead letters back to ready, with their delivery count reset to 0
 * and their reason removed. Only the given ids, or all. Returns the ids moved.
 */
export function requeueDead(q: QueueDirs, ids?: string[]): string[] {
  const moved: string[] = []
  const wanted = ids ? new Set(ids) : undefined
  for (const name of listSorted(q.dead)) {
    const m = parseName(name)
    if (!m || (wanted && !wanted.has(m.id))) continue
    const fresh = {...m, attempt: 0}
    if (moveFile(join(q.dead, name), readyDir(q, fresh), formatName(fresh))) {
      moved.push(m.id)
      try {
        unlinkSync(reasonPath(q, m.id))
      } catch {
        // no reason file
      }
    }
  }
  return moved
}

export interface GcOptions {
  /** Remove done/ entries acked longer ago than this (their ctime: rename sets it). */
  doneOlderThanMs: number
  /** Remove tmp/ files (abandoned writes) older than this. */
  tmpOlderThanMs: number
  now?: number
}

/**
 * gc: remove old done/ entries, abandoned tmp/ files, expired idempotency keys and orphan
 * dead-letter reasons. Quarantined files in bad/ are left for a person to look at.
 */
export function gcQueue(q: QueueDirs, opts: GcOptions, onProgress?: (n: number) => void): {done: number; keys: number; tmp: number} {
  const now = opts.now ?? Date.now()
  let total = 0
  const removeOld = (dir: string, olderThan: number, timeOf: (s: {ctimeMs: number; mtimeMs: number}) => number) => {
    let n = 0
    for (const name of listDir(dir)) {
      const path = join(dir, name)
      const st = lstatSync(path, {throwIfNoEntry: false})
      if (!st || !st.isFile() || now - timeOf(st) < olderThan) continue
      try {
        unlinkSync(path)
        n++
        if (++total % 1000 === 0) onProgress?.(total)
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw ioError('unlink', path, error)
      }
    }
    return n
  }
  const done = removeOld(q.done, opts.doneOlderThanMs, (s) => s.ctimeMs)
  const tmp = removeOld(q.tmp, opts.tmpOlderThanMs, (s) => s.mtimeMs)
  const keys = sweepKeys(join(q.root, 'keys'), now)
  // A reason whose dead letter is not there (a crash between writing it and the rename),
  // once it is as old as an abandoned tmp file.
  const names = listDir(q.dead)
  const live = new Set(names.filter((n) => !n.endsWith('.reason') && !n.startsWith('.')).map((n) => n.slice(0, 33)))
  // (and temp reasons, ".ID.reason.PID", of a process that died while writing one)
  const orphans = names.filter((n) => n.startsWith('.') || (n.endsWith('.reason') && !live.has(n.slice(0, 33))))
  for (const n of orphans) {
    const st = lstatSync(join(q.dead, n), {throwIfNoEntry: false})
    if (st && now - st.mtimeMs >= opts.tmpOlderThanMs) unlinkSync(join(q.dead, n))
  }
  return {done, keys, tmp}
}
