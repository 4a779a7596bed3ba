import {join} from 'node:path'

import {listDir, moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName, parseName, readyName} from './message-name.js'
import {readyDir} from './paths.js'
import {quarantine} from './quarantine.js'

/**
 * reclaimExpired: every message in cur/ whose lease deadline (its "l" field) has passed is
 * renamed back into new/, keeping its delivery count (already raised when it was claimed), so
 * the next claim delivers it again. No daemon: claims call this before they look for work.
 *
 * RACE: the lease holder may ack, release or renew (all renames of the same file) while we
 * look; whichever rename runs first wins and the other gets ENOENT, which here means "not
 * ours to reclaim". Returns how many messages this call reclaimed.
 */
export function reclaimExpired(q: QueueDirs, now: number = Date.now()): number {
  let n = 0
  for (const name of listDir(q.cur)) {
    const m = parseName(name)
    if (!m || m.leaseUntil === undefined) {
      quarantine(q, join(q.cur, name), 'not a claimed-message name (no lease field)')
      continue
    }
    if (m.leaseUntil > now) continue
    if (moveFile(join(q.cur, name), readyDir(q, m), formatName(readyName(m)))) n++
  }
  return n
}

/** The earliest lease deadline in cur/, for waiters that want to wake when one expires. */
export function nextLeaseExpiry(q: QueueDirs): number | undefined {
  let next: number | undefined
  for (const name of listDir(q.cur)) {
    const l = parseName(name)?.leaseUntil
    if (l !== undefined && (next === undefined || l < next)) next = l
  }
  return next
}
