import {renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {fsyncPath, listEntries, unlinkQuietly} from './fs.js'
import {queueStats} from './inspect.js'
import {QueueDirs} from './layout.js'

/**
 * drop: the queue's directory is renamed away in one step (SPOOL/.dropped-NAME-PID-N, a name
 * no queue can have), then removed; its subscriptions to topics go too. Returns the messages
 * it held. RACE: a producer or consumer working in the directory when it is renamed fails
 * that step (ENOENT: the push reports an I/O error, 74, and stores nothing) or lands in a new
 * queue of the same name made after the rename; nothing it does reaches the dropped one's
 * removal unseen, because the rename is atomic.
 */
export function dropQueue(q: QueueDirs): number {
  const s = queueStats(q)
  const held = s.ready + s.delayed! + s.inflight! + s.dead + s.done!
  const trash = join(q.spool, `.dropped-${q.name}-${process.pid}-${Date.now()}`)
  try {
    renameSync(q.root, trash)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return 0
    throw ioError('rename', q.root, error)
  }
  fsyncPath(q.spool)
  for (const t of listEntries(join(q.spool, '.topics'))) if (t.isDirectory()) unlinkQuietly(join(q.spool, '.topics', t.name, 'subscribers', q.name))
  try {
    rmSync(trash, {force: true, recursive: true})
  } catch (error) {
    throw ioError('remove', trash, error)
  }
  return held
}
