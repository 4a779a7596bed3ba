import {lstatSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno, SpoolDamageError} from '../errors.js'
import {ensureFormat, markNewSpool} from './format.js'
import {ensureDir, fsyncPath, kindOf} from './fs.js'
import {QueueDirs, STATES} from './layout.js'
import {quarantine} from './quarantine.js'

/** How long a process trusts its last look at a queue's directories (long-running consumers look again). */
export const RECHECK_MS = 1000
const checked = new Map<string, number>()

/** The spool, if it exists, is a directory (following a symlink to it); else SpoolDamageError (78). */
export function checkSpoolRoot(spool: string): void {
  let st
  try {
    st = statSync(spool, {throwIfNoEntry: false})
  } catch (error) {
    if (isErrno(error, 'ENOTDIR')) throw new SpoolDamageError(spool, 'a part of the spool path is not a directory', 'give --spool a directory')
    throw ioError('stat', spool, error)
  }
  if (st && !st.isDirectory()) throw new SpoolDamageError(spool, `the spool is a ${kindOf(st)}, not a directory`, 'give --spool a directory')
}

/**
 * ensureSpoolRoot: the spool directory exists and is a directory (following a symlink here is
 * fine: the spool's own path is the user's choice). Missing, it is created private (0700, and so
 * are missing parents). Not a directory: SpoolDamageError (78), and nothing is created.
 */
export function ensureSpoolRoot(spool: string): void {
  checkSpoolRoot(spool)
  const made = ensureDir(spool)
  for (const d of made) fsyncPath(d)
  if (made.length > 0) markNewSpool(spool)
}

/**
 * createQueue: make the queue's state directories (idempotent, safe to race: mkdir -p) and
 * check the ones that exist. Durable: every directory that gained an entry is fsynced, so a
 * queue that a push reported does not vanish in a power cut.
 *
 * Damage: the queue directory must be a real directory (a symlink there is SpoolDamageError:
 * mq does not follow links inside a spool). A state directory that is a symlink, a file or
 * anything but a directory is quarantined into bad/ and replaced by an empty directory, so a
 * stray entry cannot stop the queue nor make mq act outside the spool; bad/ itself must be a
 * directory (else SpoolDamageError). A process looks again after RECHECK_MS.
 */
export function createQueue(q: QueueDirs, now: number = Date.now()): void {
  const at = checked.get(q.root)
  if (at !== undefined && now - at < RECHECK_MS) return
  ensureFormat(q.spool)
  const rootSt = lstatSync(q.root, {throwIfNoEntry: false})
  if (rootSt && !rootSt.isDirectory()) throw new SpoolDamageError(q.root, `the queue's directory is a ${kindOf(rootSt)}; mq does not follow links inside a spool`, 'move it out of the spool')
  if (!rootSt) ensureSpoolRoot(q.spool)
  const touched = new Set<string>()
  for (const d of ensureDir(q.root, q.perms)) touched.add(d)
  // bad/ first: the others are quarantined into it.
  for (const state of ['bad', ...STATES.filter((s) => s !== 'bad')]) {
    const dir = join(q.root, state)
    const st = lstatSync(dir, {throwIfNoEntry: false})
    if (st && !st.isDirectory()) {
      if (state === 'bad') throw new SpoolDamageError(dir, `is a ${kindOf(st)}, not a directory; mq does not follow links inside a spool`, 'move it away')
      quarantine(q, dir, `a ${kindOf(st)} in place of the ${state}/ directory`)
    }
    if (!st || !st.isDirectory()) for (const d of ensureDir(dir, q.perms)) touched.add(d)
  }
  for (const d of touched) fsyncPath(d)
  checked.set(q.root, now)
}

/**
 * queueExists: the queue's directory and its new/ are real directories. Read-only: nothing is
 * created or repaired (stats, peek and the admin commands ask this). A queue directory that is
 * a symlink or a file is SpoolDamageError (78), not "no such queue".
 */
export function queueExists(q: QueueDirs): boolean {
  const st = lstatSync(q.root, {throwIfNoEntry: false})
  if (st && !st.isDirectory()) throw new SpoolDamageError(q.root, `the queue's directory is a ${kindOf(st)}; mq does not follow links inside a spool`, 'move it out of the spool')
  return Boolean(st && lstatSync(q.new, {throwIfNoEntry: false})?.isDirectory())
}

/** A state directory that a read-only look may enter: a real directory (never a symlink). */
export function isRealDir(path: string): boolean {
  return Boolean(lstatSync(path, {throwIfNoEntry: false})?.isDirectory())
}

/** Forget what this process checked (tests that damage a queue under a running process). */
export function forgetCheckedQueues(): void {
  checked.clear()
}
