import {countEntries} from './fs.js'
import {QueueDirs} from './layout.js'

/**
 * Where each counted state keeps its messages, as directory levels below its state directory
 * (man/mq-spool.5): ready under priority and two time buckets, delayed under two buckets of the
 * due time, in flight under two buckets of the lease deadline, plus format-1 claims flat in cur/.
 * Every count of a state (stats, the depth bound) reads these, so none can forget a level.
 */
export const LEVELS = {
  delay: [2],
  cur: [2, 0],
  new: [3],
} as const

/** countState: the messages in one bucketed state, counting no further than limit + 1. */
export function countState(q: QueueDirs, state: keyof typeof LEVELS, limit = Number.POSITIVE_INFINITY): number {
  let n = 0
  for (const level of LEVELS[state]) {
    if (n > limit) break
    n += countEntries(q[state], level, {limit: limit - n})
  }
  return n
}

/**
 * countDepth: ready + delayed + in-flight messages, counting no further than limit + 1 (the
 * bound check only needs to know whether the limit is reached), so a push to a bounded queue
 * reads at most about max-depth directory entries.
 */
export function countDepth(q: QueueDirs, limit: number): number {
  let n = 0
  for (const state of ['cur', 'delay', 'new'] as const) {
    if (n > limit) break
    n += countState(q, state, limit - n)
  }
  return n
}
