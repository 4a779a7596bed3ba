import {type Dir, opendirSync} from 'node:fs'
import {join} from 'node:path'

import {isErrno} from '../errors.js'
import {QueueDirs} from './layout.js'

/**
 * countDepth: ready + delayed + in-flight messages, counting no further than limit + 1 (the
 * bound check only needs to know whether the limit is reached), so a push to a bounded queue
 * reads at most about max-depth directory entries.
 */
export function countDepth(q: QueueDirs, limit: number): number {
  let n = 0
  const visit = (dir: string, depth: number): boolean => {
    let d: Dir
    try {
      d = opendirSync(dir, {bufferSize: 256})
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return true
      throw error
    }
    try {
      for (let e = d.readSync(); e; e = d.readSync()) {
        if (depth === 0) {
          if (++n > limit) return false
        } else if (e.isDirectory() && !visit(join(dir, e.name), depth - 1)) return false
      }
    } finally {
      d.closeSync()
    }
    return true
  }
  if (visit(q.cur, 0) && visit(q.delay, 2)) visit(q.new, 3)
  return n
}
