import {unlinkSync} from 'node:fs'

import {ioError, isErrno} from '../errors.js'
import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName, readyName} from './message-name.js'
import {type ClaimRef, withClaim} from './receipt.js'

export interface AckOptions {
  /** Keep acked messages in done/ (the default; `mq gc` removes them) or unlink them at once. */
  keep?: boolean
  /** Where this process last renamed the delivery's file (a renewal it made). */
  known?: string
}

/**
 * ackMessage: finish a delivery: rename its file from cur/ to done/NAME (token and lease
 * dropped), or unlink it when keep is false. Renaming into done/ is the default because it is
 * cheaper now and later: on ext4, unlinking on every ack slows the file creations that follow
 * (TOOLCHAIN.md), and `mq gc` removes old done/ entries in bulk.
 *
 * An ack after the lease expired is accepted as long as the delivery is still in cur/ (nobody
 * reclaimed it yet: the work is done and nobody else has it).
 *
 * RACE: a reclaim (or a second ack) moving the same file first makes our rename fail with
 * ENOENT: NotInFlightError, and nothing changes. Returns the message id.
 */
export function ackMessage(q: QueueDirs, ref: string, opts: AckOptions = {}): string {
  const {at} = withClaim(q, ref, opts.known, (c: ClaimRef) => {
    if (opts.keep !== false) return moveFile(c.path, q.done, formatName(readyName(c.m)), undefined, q.perms) || false
    try {
      unlinkSync(c.path)
      return true
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false
      throw ioError('unlink', c.path, error)
    }
  })
  return at.m.id
}
