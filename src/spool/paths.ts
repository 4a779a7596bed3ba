import {join} from 'node:path'

import {QueueDirs} from './layout.js'
import {bucketsOf, timeHex} from '../message-id.js'
import {type MessageName} from './message-name.js'

/** new/P/B7/B10: where a ready message is filed, by its priority and its id's time buckets. */
export function readyDir(q: QueueDirs, m: MessageName): string {
  const [b7, b10] = bucketsOf(m.id)
  return join(q.new, String(m.priority), b7, b10)
}

/** delay/B7/B10: where a delayed message waits, by the time buckets of its not-before time. */
export function delayDir(q: QueueDirs, notBefore: number): string {
  const [b7, b10] = bucketsOf(timeHex(notBefore))
  return join(q.delay, b7, b10)
}

/** cur/B7/B10: where a claimed message is, by the time buckets of its lease deadline (mq-spool 2). */
export function curDir(q: QueueDirs, leaseUntil: number): string {
  const [b7, b10] = bucketsOf(timeHex(leaseUntil))
  return join(q.cur, b7, b10)
}

export const B7 = /^[0-9a-f]{7}$/
export const B10 = /^[0-9a-f]{10}$/
export const PRIORITY_DIR = /^[0-9]$/
