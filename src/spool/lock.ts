import {join} from 'node:path'

import {MqError} from '../errors.js'
import {EXIT} from '../exit-codes.js'
import {createQueue} from './create-queue.js'
import {QueueDirs} from './layout.js'

/**
 * Runs maintenance work (gc, purge, requeue, config changes) on a queue one process at a
 * time, under a proper-lockfile lock (SPOOL/QUEUE/NAME.lock, a directory kept fresh while
 * held, stale after 10 s). Every step of such work is itself a rename or unlink that tolerates
 * ENOENT, so the lock only keeps two maintainers from doing the same work twice; consumers and
 * producers never take it. proper-lockfile (and the graceful-fs it loads, which patches fs)
 * is imported only here, when a lock is taken, so push and pop never load it.
 */
export async function withQueueLock<T>(q: QueueDirs, name: string, fn: () => Promise<T> | T): Promise<T> {
  createQueue(q)
  const {default: lockfile} = await import('proper-lockfile')
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(q.root, {
      lockfilePath: join(q.root, `${name}.lock`),
      onCompromised: () => {}, // losing the lock mid-way is harmless (see above); do not crash
      retries: {maxTimeout: 500, minTimeout: 50, retries: 40},
    })
  } catch (error) {
    throw new MqError('locked', EXIT.TEMP_FAIL, `${q.name}: another process holds the ${name} lock (${(error as Error).message})`, 'try again later')
  }
  try {
    return await fn()
  } finally {
    await release().catch(() => {})
  }
}
