import {countEntries} from './fs.js'
import {QueueDirs} from './layout.js'

/**
 * countDepth: ready + delayed + in-flight messages, counting no further than limit + 1 (the
 * bound check only needs to know whether the limit is reached), so a push to a bounded queue
 * reads at most about max-depth directory entries.
 */
export function countDepth(q: QueueDirs, limit: number): number {
  let n = 0
  for (const [dir, depth] of [
    [q.cur, 0],
    [q.delay, 2],
    [q.new, 3],
  ] as const) {
    if (n > limit) break
    n += countEntries(dir, depth, {limit: limit - n})
  }
  return n
}
