import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName} from './message-name.js'
import {notInFlight, resolveReceipt} from './receipt.js'

/**
 * renewLease: extend a claim's lease to now + leaseMs: rename cur/RECEIPT to cur/RECEIPT'
 * with the new "l" field, and return RECEIPT' (the old receipt no longer works).
 *
 * RACE: if the lease already expired and a reclaim moved the file, our rename fails with
 * ENOENT: the lease is lost, we throw NotInFlightError, and the caller must not ack.
 */
export function renewLease(q: QueueDirs, ref: string, leaseMs: number, now: number = Date.now()): string {
  const {m, name} = resolveReceipt(q, ref)
  const receipt = formatName({...m, leaseUntil: now + leaseMs})
  if (receipt === name) {
    // Same deadline (renewed within the claim's millisecond): nothing to rename, but the
    // claim must still be there.
    if (!existsSync(join(q.cur, name))) throw notInFlight(q, name)
    return name
  }
  if (!moveFile(join(q.cur, name), q.cur, receipt)) throw notInFlight(q, name)
  return receipt
}
