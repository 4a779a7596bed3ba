import {existsSync, renameSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {type DeadReason, type Failure} from '../backend.js'
import {ioError, isErrno} from '../errors.js'
import {createFile, moveFile, readRegular, unlinkQuietly} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName, type MessageName, readyName} from './message-name.js'
import {withClaim} from './receipt.js'

export type {DeadReason}

export function reasonPath(q: QueueDirs, id: string): string {
  return join(q.dead, `${id}.reason`)
}

/**
 * deadLetter: move a message (from new/, delay/ or cur/) into dead/, where nothing claims it
 * until `mq requeue`. The reason is written first (to a temp name, renamed into place, so it
 * is never seen half-written), then the message is renamed: a crash in between leaves an
 * orphan .reason (`mq gc` removes it), never a dead letter without its reason.
 *
 * RACE: another process may move the message first (ENOENT on our rename): a reclaim or a
 * claim (then our reason is removed), or another process dead-lettering the same message
 * (then the message is in dead/ and the reason, which both wrote, stays). Returns whether
 * this call moved the message.
 */
export function deadLetter(q: QueueDirs, src: string, m: MessageName, reason: DeadReason): boolean {
  const rpath = reasonPath(q, m.id)
  const deadName = formatName(readyName(m))
  const tmp = join(q.dead, `.${m.id}.reason.${process.pid}`)
  unlinkQuietly(tmp) // a leftover of an earlier process with our pid
  createFile(tmp, JSON.stringify(reason) + '\n', q.perms) // on failure (a full disk) it leaves nothing
  try {
    renameSync(tmp, rpath)
  } catch (error) {
    unlinkQuietly(tmp)
    throw ioError('rename', `${tmp} -> ${rpath}`, error)
  }
  if (moveFile(src, q.dead, deadName, undefined, q.perms)) return true
  if (!existsSync(join(q.dead, deadName))) {
    try {
      unlinkSync(rpath)
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error
    }
  }
  return false
}

/** The reason beside a dead letter; undefined when it is missing or not a regular JSON file. */
export function readDeadReason(q: QueueDirs, id: string): DeadReason | undefined {
  try {
    return JSON.parse(readRegular(reasonPath(q, id), 1 << 20).toString('utf8')) as DeadReason
  } catch {
    return undefined
  }
}

/** Dead-letters a delivery on request (reason rejected), keeping why; NotInFlightError if it is not in flight. */
export function rejectDelivery(q: QueueDirs, ref: string, failure: Failure = {}, known?: string, now: number = Date.now()): void {
  withClaim(q, ref, known, (c) => deadLetter(q, c.path, c.m, {...failure, at: now, attempts: c.m.attempt, reason: 'rejected'}) || false)
}
