import {randomBytesFast} from './lazy.js'

/**
 * Message ids (specified in man/mq-spool.5, "MESSAGE IDS"):
 *
 *   ID := TIME SEQ "-" NODE        e.g. 019a6c3f2b10 0003 - 9f2c4e01a7b3d566
 *   TIME: 12 lowercase hex digits, milliseconds since the Unix epoch at enqueue
 *   SEQ:  4 hex digits, a per-process counter that orders ids minted in the same millisecond
 *   NODE: 16 hex digits (64 random bits), drawn once per process
 *
 * Ids sort (as strings) by enqueue time, and by push order within one process. Two processes,
 * or two hosts, collide only if they draw the same 64 random bits and mint in the same
 * millisecond with the same counter. The first 7 and 10 characters of an id name the time
 * buckets the message is filed under in new/ (about 17.5 minutes and 256 ms wide).
 */
export const ID_PATTERN = /^[0-9a-f]{16}-[0-9a-f]{16}$/
export const ID_LENGTH = 33

let NODE: string | undefined
let lastMs = 0
let seq = 0

export function newMessageId(now: number = Date.now()): string {
  // Monotonic within a process even if the wall clock steps back.
  if (now > lastMs) {
    lastMs = now
    seq = 0
  } else if (++seq > 0xffff) {
    lastMs += 1
    seq = 0
  }
  NODE ??= randomBytesFast(8).toString('hex') // drawn once per process, on its first id
  return `${timeHex(lastMs)}${seq.toString(16).padStart(4, '0')}-${NODE}`
}

export function isMessageId(s: string): boolean {
  return s.length === ID_LENGTH && ID_PATTERN.test(s)
}

/** Enqueue time (ms since epoch) of an id. */
export function idTime(id: string): number {
  return Number.parseInt(id.slice(0, 12), 16)
}

/** A time as the 12 hex digits used in ids and bucket names. */
export function timeHex(ms: number): string {
  return Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0')
}

/** The two bucket names a time (given as 12 hex digits, or an id) is filed under. */
export function bucketsOf(hex: string): [string, string] {
  return [hex.slice(0, 7), hex.slice(0, 10)]
}
