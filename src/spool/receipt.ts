import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {DataError, NotInFlightError} from '../errors.js'
import {listDir} from './fs.js'
import {QueueDirs} from './layout.js'
import {isMessageId} from './message-id.js'
import {formatName, type MessageName, parseName, readyName} from './message-name.js'
import {readyDir} from './paths.js'

/**
 * A receipt is a claimed message's file name in cur/ (what `pop` prints and `claimNext`
 * returns). It names one delivery: after a lease expires and the message is claimed again, the
 * new claim has a new receipt (raised "a", new "l"), so a slow consumer's ack cannot finish
 * someone else's delivery.
 *
 * A bare message id is accepted too, for convenience: it resolves to whatever claim of that id
 * is in cur/ now (one readdir of cur/), without that protection.
 */
export function resolveReceipt(q: QueueDirs, ref: string): {m: MessageName; name: string} {
  const parsed = parseName(ref)
  if (parsed && parsed.leaseUntil !== undefined) return {m: parsed, name: ref}
  if (!isMessageId(ref)) throw new DataError(`${q.name}: ${JSON.stringify(ref)} is neither a receipt nor a message id`)
  const prefix = ref + ','
  for (const name of listDir(q.cur)) {
    if (name.startsWith(prefix)) {
      const m = parseName(name)
      if (m && m.leaseUntil !== undefined) return {m, name}
    }
  }
  throw notInFlight(q, ref)
}

/**
 * The error for a receipt whose file is not in cur/, saying what became of the message where
 * that is cheap to find out: claimed again under another receipt, or back in new/.
 */
export function notInFlight(q: QueueDirs, ref: string): NotInFlightError {
  const m = parseName(ref)
  const id = ref.slice(0, 33)
  if (isMessageId(id)) {
    const again = listDir(q.cur).find((n) => n.startsWith(id + ','))
    if (again && again !== ref)
      return new NotInFlightError(q.name, id, `lease lost: the message was claimed again (attempt ${parseName(again)?.attempt})`)
    if (m) {
      const back = readyName(m)
      if (existsSync(join(readyDir(q, back), formatName(back))))
        return new NotInFlightError(q.name, id, 'lease lost: the lease expired and the message is ready again')
    }
  }
  return new NotInFlightError(q.name, id, 'not in flight (already acked, released, dead-lettered, or never claimed)')
}
