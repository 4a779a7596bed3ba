import {QueueDirs} from './layout.js'
import {bucketsOf, timeHex} from '../message-id.js'
import {type MessageName} from './message-name.js'

/**
 * Paths on the hot path are put together with "/" rather than path.join: every part is a state
 * directory of QueueDirs (made with join once) or a name this module made or validated (no
 * "..", no "/"), so there is nothing to normalise, and join's normalising costs more than a
 * rename's path walk saves.
 */
export function under(dir: string, name: string): string {
  return dir + '/' + name
}

/** new/P/B7/B10: where a ready message is filed, by its priority and its id's time buckets. */
export function readyDir(q: QueueDirs, m: MessageName): string {
  const [b7, b10] = bucketsOf(m.id)
  return `${q.new}/${m.priority}/${b7}/${b10}`
}

/** delay/B7/B10: where a delayed message waits, by the time buckets of its not-before time. */
export function delayDir(q: QueueDirs, notBefore: number): string {
  const [b7, b10] = bucketsOf(timeHex(notBefore))
  return `${q.delay}/${b7}/${b10}`
}

/** cur/B7/B10: where a claimed message is, by the time buckets of its lease deadline (mq-spool 2). */
export function curDir(q: QueueDirs, leaseUntil: number): string {
  const [b7, b10] = bucketsOf(timeHex(leaseUntil))
  return `${q.cur}/${b7}/${b10}`
}

export const B7 = /^[0-9a-f]{7}$/
export const B10 = /^[0-9a-f]{10}$/
export const PRIORITY_DIR = /^[0-9]$/
