import {join} from 'node:path'

import {listSorted, moveFile, removeEmptyDir} from './fs.js'
import {QueueDirs} from './layout.js'
import {bucketsOf, timeHex} from './message-id.js'
import {formatName, parseName, readyName} from './message-name.js'
import {B10, B7, readyDir} from './paths.js'
import {quarantine} from './quarantine.js'

/**
 * promoteDue: move every delayed message whose not-before time has come from delay/ into new/
 * (one rename each). delay/ is bucketed by not-before time, so only buckets at or before
 * now are read. No daemon: claims call this before they look for work.
 *
 * RACE: two processes promoting the same message: one rename wins, the other gets ENOENT and
 * moves on. A producer filing into a bucket while we rmdir it: rmdir fails (ENOTEMPTY) or the
 * producer re-creates it (fs.ts moveFile). Returns how many this call promoted.
 */
export function promoteDue(q: QueueDirs, now: number = Date.now()): number {
  const [now7, now10] = bucketsOf(timeHex(now))
  let n = 0
  for (const b7 of listSorted(q.delay)) {
    if (b7 > now7) break
    const d7 = join(q.delay, b7)
    if (!B7.test(b7)) {
      quarantine(q, d7, 'not a delay bucket')
      continue
    }
    let due = true
    for (const b10 of listSorted(d7)) {
      if (b10 > now10) {
        due = false
        break
      }
      const d10 = join(d7, b10)
      if (!B10.test(b10)) {
        quarantine(q, d10, 'not a delay bucket')
        continue
      }
      let left = false
      for (const name of listSorted(d10)) {
        const m = parseName(name)
        if (!m) {
          quarantine(q, join(d10, name), 'not a message name')
          continue
        }
        if ((m.notBefore ?? 0) > now) {
          left = true
          continue
        }
        if (moveFile(join(d10, name), readyDir(q, m), formatName(readyName(m)))) n++
      }
      if (!left) removeEmptyDir(d10)
      else due = false
    }
    if (due) removeEmptyDir(d7)
  }
  return n
}

/** The earliest not-before time waiting in delay/ (reads only the first bucket). */
export function nextDue(q: QueueDirs): number | undefined {
  for (const b7 of listSorted(q.delay)) {
    for (const b10 of listSorted(join(q.delay, b7))) {
      let next: number | undefined
      for (const name of listSorted(join(q.delay, b7, b10))) {
        const nb = parseName(name)?.notBefore ?? 0
        if (next === undefined || nb < next) next = nb
      }
      if (next !== undefined) return next
    }
  }
  return undefined
}
