import {join} from 'node:path'

import {ioError, MqError} from '../errors.js'
import {EXIT} from '../exit-codes.js'
import {createQueue} from './create-queue.js'
import {QueueDirs} from './layout.js'

/** How long a maintainer waits for another one to finish before giving up (75). */
export const LOCK_WAIT_MS = 20_000

/**
 * Runs maintenance work (gc, purge, requeue, config changes) on a queue one process at a
 * time, under a proper-lockfile lock (SPOOL/QUEUE/NAME.lock, a directory kept fresh while
 * held, stale after 10 s). Every step of such work is itself a rename or unlink that tolerates
 * ENOENT, so the lock only keeps two maintainers from doing the same work twice; consumers and
 * producers never take it. proper-lockfile (and the graceful-fs it loads, which patches fs)
 * is imported only here, when a lock is taken, so push and pop never load it.
 *
 * Only a lock held by another process is waited for (up to LOCK_WAIT_MS, then 75). Any other
 * failure to take it (a spool this user may not write: 77; an I/O error: 74) is reported at
 * once: proper-lockfile's own retries would retry those too, for nothing.
 */
export async function withQueueLock<T>(q: QueueDirs, name: string, fn: () => Promise<T> | T): Promise<T> {
  createQueue(q)
  const {default: lockfile} = await import('proper-lockfile')
  const lockfilePath = join(q.root, `${name}.lock`)
  const until = Date.now() + LOCK_WAIT_MS
  let release: () => Promise<void>
  for (let wait = 50; ; wait = Math.min(500, wait * 2)) {
    try {
      release = await lockfile.lock(q.root, {lockfilePath, onCompromised: () => {}, realpath: false, retries: 0})
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw ioError('lock', lockfilePath, error)
      if (Date.now() >= until) {
        throw new MqError('locked', EXIT.TEMP_FAIL, `${q.name}: another process holds the ${name} lock (${lockfilePath})`, 'try again later')
      }
      await new Promise((r) => setTimeout(r, wait))
    }
  }
  try {
    return await fn()
  } finally {
    await release().catch(() => {})
  }
}
