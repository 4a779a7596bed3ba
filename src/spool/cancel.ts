import {unlinkSync} from 'node:fs'

import {type Cancelled} from '../backend.js'
import {ioError, isErrno} from '../errors.js'
import {findMessage} from './inspect.js'
import {QueueDirs} from './layout.js'

/**
 * cancel: the messages with these ids that are ready or delayed are unlinked; the others are
 * refused with their state (in flight: their consumer's; dead, done: purge or gc them).
 * RACE: a claim renames the file out of new/ while we unlink it: one of the two gets ENOENT,
 * so a message is either cancelled or delivered, never both. A delayed message promoted to
 * ready meanwhile is looked for again (once or twice) and unlinked there. Its idempotency key,
 * if it had one, holds until it expires (as after purge).
 */
export function cancelMessages(q: QueueDirs, ids: string[]): Cancelled {
  const out: Cancelled = {cancelled: [], refused: [], unknown: []}
  for (const id of ids) {
    let done = false
    for (let tries = 0; tries < 3 && !done; tries++) {
      const found = findMessage(q, id)
      if (!found) {
        out.unknown.push(id)
        done = true
      } else if (found.state !== 'ready' && found.state !== 'delayed') {
        out.refused.push({id, state: found.state})
        done = true
      } else {
        try {
          unlinkSync(found.path)
          out.cancelled.push(id)
          done = true
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw ioError('unlink', found.path, error)
          // moved on (claimed, or promoted from delay/): look again
        }
      }
    }
    if (!done) out.unknown.push(id)
  }
  return out
}
