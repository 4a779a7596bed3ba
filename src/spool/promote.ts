import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {bucketsOf, timeHex} from '../message-id.js'
import {formatName, type MessageName, readyName} from './message-name.js'
import {readyDir} from './paths.js'
import {firstBucketStart} from './reclaim.js'
import {leafBuckets, messageFiles} from './walk.js'

const delayedRule = (m: MessageName) => (m.notBefore === undefined ? 'delayed file without a not-before field' : undefined)

/**
 * promoteDue: move every delayed message whose not-before time has come from delay/ into new/
 * (one rename each). delay/ is bucketed by not-before time, so only buckets at or before
 * now are read; emptied past buckets are removed. Damage is quarantined (walk.ts).
 *
 * RACE: two processes promoting the same message: one rename wins, the other gets ENOENT and
 * moves on. A producer filing into a bucket while we rmdir it: rmdir fails (ENOTEMPTY) or the
 * producer re-creates it (fs.ts moveFile). Returns how many this call promoted.
 */
export function promoteDue(q: QueueDirs, now: number = Date.now()): number {
  const current = bucketsOf(timeHex(now))
  let n = 0
  for (const dir of leafBuckets(q, q.delay, {pruneBefore: current, repair: true, until: current, what: 'delay'})) {
    for (const {m, path} of messageFiles(q, dir, true, delayedRule)) {
      if (m.notBefore! > now) continue
      if (moveFile(path, readyDir(q, m), formatName(readyName(m)), undefined, q.perms)) n++
    }
  }
  return n
}

/**
 * When the earliest delayed message can fall due: the start of delay/'s first bucket (bucket
 * names bound their not-before times from below, to within 256 ms), read from names alone.
 */
export function nextDue(q: QueueDirs): number | undefined {
  return firstBucketStart(q, q.delay)
}

/** The exact earliest not-before time in delay/ (reads the first non-empty bucket): for waiters. */
export function exactNextDue(q: QueueDirs): number | undefined {
  for (const dir of leafBuckets(q, q.delay, {repair: false, what: 'delay'})) {
    let next: number | undefined
    for (const {m} of messageFiles(q, dir, false, delayedRule)) if (next === undefined || m.notBefore! < next) next = m.notBefore
    if (next !== undefined) return next
  }
  return undefined
}
