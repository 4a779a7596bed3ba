import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {bucketsOf, timeHex} from '../message-id.js'
import {formatName, type MessageName, readyName} from './message-name.js'
import {readyDir} from './paths.js'
import {leafBuckets, type MessageEntry, messageFiles} from './walk.js'

export const claimedRule = (m: MessageName) => (m.leaseUntil === undefined ? 'not a claimed-message name (no lease field)' : undefined)

/**
 * reclaimExpired: every claimed message whose lease deadline (its "l" field) has passed is
 * renamed back into new/, keeping its delivery count (already raised when it was claimed), so
 * the next claim delivers it again. No daemon: claims call this before they look for work.
 *
 * cur/ is bucketed by lease deadline (mq-spool 2), so only the buckets at or before now are
 * read, whatever is in flight; emptied past buckets are removed. Flat files in cur/ (format 1:
 * an upgrade in progress) are reclaimed too. Entries that are not claimed-message files (a FIFO
 * named like a receipt, a directory...) are quarantined, never moved into new/.
 *
 * RACE: the lease holder may ack, release or renew (all renames of the same file) while we
 * look; whichever rename runs first wins and the other gets ENOENT, which here means "not
 * ours to reclaim". Returns how many messages this call reclaimed.
 */
export function reclaimExpired(q: QueueDirs, now: number = Date.now()): number {
  const current = bucketsOf(timeHex(now))
  let n = 0
  const reclaim = (f: MessageEntry) => {
    if (f.m.leaseUntil! > now) return
    if (moveFile(f.path, readyDir(q, f.m), formatName(readyName(f.m)), undefined, q.perms)) n++
  }
  for (const f of messageFiles(q, q.cur, true, claimedRule, true)) reclaim(f)
  for (const dir of leafBuckets(q, q.cur, {filesAtTop: true, pruneBefore: current, repair: true, until: current, what: 'lease'})) {
    for (const f of messageFiles(q, dir, true, claimedRule)) reclaim(f)
  }
  return n
}

/**
 * When the earliest lease in cur/ can end, for waiters and for scheduling the next sweep: the
 * start of its first bucket (a bucket's name bounds its deadlines from below, to within 256 ms),
 * read from bucket names alone, whatever is in flight. Flat format-1 claims are read whole.
 */
export function nextLeaseExpiry(q: QueueDirs): number | undefined {
  let next: number | undefined
  for (const {m} of messageFiles(q, q.cur, false, claimedRule, true)) if (next === undefined || m.leaseUntil! < next) next = m.leaseUntil
  const first = firstBucketStart(q, q.cur)
  return next === undefined ? first : first === undefined ? next : Math.min(next, first)
}

/** The start time of the first B7/B10 bucket under root, from names only (undefined: none). */
export function firstBucketStart(q: QueueDirs, root: string): number | undefined {
  for (const dir of leafBuckets(q, root, {filesAtTop: true, repair: false, what: 'time'})) {
    return Number.parseInt(dir.slice(dir.lastIndexOf('/') + 1), 16) * 256
  }
  return undefined
}

/** The exact earliest lease deadline in cur/ (reads the first non-empty bucket): for waiters. */
export function exactNextLeaseExpiry(q: QueueDirs): number | undefined {
  let next: number | undefined
  const consider = (files: MessageEntry[]) => {
    for (const {m} of files) if (next === undefined || m.leaseUntil! < next) next = m.leaseUntil
  }
  consider(messageFiles(q, q.cur, false, claimedRule, true))
  for (const dir of leafBuckets(q, q.cur, {filesAtTop: true, repair: false, what: 'lease'})) {
    const files = messageFiles(q, dir, false, claimedRule)
    consider(files)
    if (files.length > 0) break // later buckets hold later deadlines
  }
  return next
}
