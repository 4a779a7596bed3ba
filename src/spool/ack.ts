import {unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName, readyName} from './message-name.js'
import {notInFlight, resolveReceipt} from './receipt.js'

export interface AckOptions {
  /** Keep acked messages in done/ (the default; `mq gc` removes them) or unlink them at once. */
  keep?: boolean
}

/**
 * ackMessage: finish a claimed message: rename cur/RECEIPT to done/NAME (lease field dropped),
 * or unlink it when keep is false. Renaming into done/ is the default because it is cheaper now
 * and later: on ext4, unlinking on every ack slows the file creations that follow (TOOLCHAIN.md),
 * and `mq gc` removes old done/ entries in bulk.
 *
 * An ack after the lease expired is accepted as long as the message is still in cur/ under
 * this receipt (nobody reclaimed it yet: the work is done and nobody else has it).
 *
 * RACE: a reclaim (or a second ack) moving the same file first makes our rename fail with
 * ENOENT: we throw NotInFlightError and change nothing. Returns the message id.
 */
export function ackMessage(q: QueueDirs, ref: string, opts: AckOptions = {}): string {
  const {m, name} = resolveReceipt(q, ref)
  const src = join(q.cur, name)
  if (opts.keep === false) {
    try {
      unlinkSync(src)
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw notInFlight(q, name)
      throw ioError('unlink', src, error)
    }
  } else if (!moveFile(src, q.done, formatName(readyName(m)))) {
    throw notInFlight(q, name)
  }
  return m.id
}
