import {QueueDirs} from './layout.js'
import {formatName, readyName} from './message-name.js'
import {moveFile} from './fs.js'
import {readyDir} from './paths.js'
import {messageFiles} from './walk.js'

const claimedRule = (m: {leaseUntil?: number}) => (m.leaseUntil === undefined ? 'not a claimed-message name (no lease field)' : undefined)

/**
 * reclaimExpired: every message in cur/ whose lease deadline (its "l" field) has passed is
 * renamed back into new/, keeping its delivery count (already raised when it was claimed), so
 * the next claim delivers it again. No daemon: claims call this before they look for work.
 * Entries that are not claimed-message files (a FIFO named like a receipt, a directory...)
 * are quarantined, never moved into new/.
 *
 * RACE: the lease holder may ack, release or renew (all renames of the same file) while we
 * look; whichever rename runs first wins and the other gets ENOENT, which here means "not
 * ours to reclaim". Returns how many messages this call reclaimed.
 */
export function reclaimExpired(q: QueueDirs, now: number = Date.now()): number {
  let n = 0
  for (const {m, path} of messageFiles(q, q.cur, true, claimedRule)) {
    if (m.leaseUntil! > now) continue
    if (moveFile(path, readyDir(q, m), formatName(readyName(m)), undefined, q.perms)) n++
  }
  return n
}

/** The earliest lease deadline in cur/, for waiters that want to wake when one expires. */
export function nextLeaseExpiry(q: QueueDirs): number | undefined {
  let next: number | undefined
  for (const {m} of messageFiles(q, q.cur, false, claimedRule)) {
    const l = m.leaseUntil!
    if (next === undefined || l < next) next = l
  }
  return next
}
