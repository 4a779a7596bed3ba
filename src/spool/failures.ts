import {closeSync, mkdirSync, readSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type Failure} from '../backend.js'
import {openRegular, unlinkQuietly} from './fs.js'
import {QueueDirs} from './layout.js'

/**
 * Why a message's last delivery failed, while it waits to be tried again: SPOOL/QUEUE/failures/ID,
 * JSON ({...failure, at}), written after the release that gave it back (man/mq-spool.5, LAYOUT).
 * Diagnostics for `mq show`, not state: written without fsync, best effort (a failure to write
 * it never fails the release), replaced by the next failure, removed by requeue and, once its
 * message is no longer waiting (acked, dead, gone), by gc.
 */
export function failureDir(q: QueueDirs): string {
  return join(q.root, 'failures')
}

export function recordFailure(q: QueueDirs, id: string, failure: Failure, at: number): void {
  if (Object.keys(failure).length === 0) return
  try {
    mkdirSync(failureDir(q), {mode: q.perms.dir, recursive: true})
    writeFileSync(join(failureDir(q), id), JSON.stringify({...failure, at}), {mode: q.perms.file})
  } catch {
    // diagnostics only: the release has happened
  }
}

/** The recorded failure, or undefined (none, unreadable, not a regular file: never a link followed). */
export function readFailure(q: QueueDirs, id: string): (Failure & {at: number}) | undefined {
  try {
    const {fd, size} = openRegular(join(failureDir(q), id))
    try {
      const buf = Buffer.alloc(Math.min(size, 64 * 1024))
      const n = readSync(fd, buf, 0, buf.length, 0)
      return JSON.parse(buf.subarray(0, n).toString('utf8')) as Failure & {at: number}
    } finally {
      closeSync(fd)
    }
  } catch {
    return undefined // diagnostics: nothing to show is an answer
  }
}

export function forgetFailure(q: QueueDirs, id: string): void {
  unlinkQuietly(join(failureDir(q), id))
}
