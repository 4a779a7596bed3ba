
import {kindOf, listEntries, removeEmptyDir} from './fs.js'
import {QueueDirs} from './layout.js'
import {type MessageName, parseName} from './message-name.js'
import {B10, B7} from './paths.js'
import {quarantine} from './quarantine.js'

/**
 * Walking a queue's directories under the damage rule: an entry that is not what its place
 * calls for (a file or symlink where a bucket directory must be, a FIFO, socket, directory or
 * symlink where a message file must be, a name that is not a bucket's or a message's) is
 * quarantined when the walker may write (`repair`), skipped when it only looks. It is never
 * descended into, never opened, never followed, and never stops the walk.
 */

export interface BucketWalk {
  /** Quarantine what does not belong (writers), or skip it (read-only looks). */
  repair: boolean
  /** Time bound [b7, b10]: buckets named after it hold later times and are not visited. */
  until?: readonly [string, string]
  /** Remove leaf buckets older than [b7, b10] once visited and empty (the current one is kept). */
  pruneBefore?: readonly [string, string]
  /** What the tree is, for quarantine reasons ("ready", "delay", ...). */
  what: string
  /** Regular files at the top are left to the caller (format-1 claims, flat in cur/). */
  filesAtTop?: boolean
}

/**
 * The leaf directories of ROOT/B7/B10 in time order. Pruning happens as the caller moves on:
 * a leaf is removed after the caller is done with it (when it is older than pruneBefore and
 * empty by then: a concurrent producer's entry keeps it).
 */
export function* leafBuckets(q: QueueDirs, root: string, w: BucketWalk): Generator<string> {
  for (const e7 of listEntries(root)) {
    const d7 = root + '/' + e7.name
    if (!e7.isDirectory() || !B7.test(e7.name)) {
      if (w.filesAtTop && e7.isFile()) continue
      if (w.until && e7.name > w.until[0]) break
      misplaced(q, d7, e7.isDirectory() ? `not a ${w.what} bucket name` : `a ${kindOf(e7)} where a ${w.what} bucket directory must be`, w.repair)
      continue
    }
    if (w.until && e7.name > w.until[0]) break
    let complete = true
    for (const e10 of listEntries(d7)) {
      const d10 = d7 + '/' + e10.name
      if (!e10.isDirectory() || !B10.test(e10.name)) {
        misplaced(q, d10, e10.isDirectory() ? `not a ${w.what} bucket name` : `a ${kindOf(e10)} where a ${w.what} bucket directory must be`, w.repair)
        continue
      }
      if (w.until && e10.name > w.until[1]) {
        complete = false
        break
      }
      yield d10
      if (w.pruneBefore && e10.name < w.pruneBefore[1]) removeEmptyDir(d10)
    }
    if (complete && w.pruneBefore && e7.name < w.pruneBefore[0]) removeEmptyDir(d7)
  }
}

export interface MessageEntry {
  name: string
  m: MessageName
  path: string
}

/**
 * The message files of one directory, sorted by name; anything else in it is misplaced (see
 * above). `accept` adds the rule of the state (no lease in new/, a lease in cur/...): a name it
 * refuses, with its reason, is misplaced too. With skipDirs, directories are left to the caller
 * (cur/'s buckets, beside its format-1 flat files).
 */
export function messageFiles(q: QueueDirs, dir: string, repair: boolean, accept?: (m: MessageName) => string | undefined, skipDirs = false): MessageEntry[] {
  const out: MessageEntry[] = []
  for (const e of listEntries(dir)) {
    const path = dir + '/' + e.name
    if (skipDirs && e.isDirectory()) continue
    if (!e.isFile()) {
      misplaced(q, path, `a ${kindOf(e)} where a message file must be`, repair)
      continue
    }
    const m = parseName(e.name)
    const why = m ? accept?.(m) : 'not a message name'
    if (why) {
      misplaced(q, path, why, repair)
      continue
    }
    out.push({m: m!, name: e.name, path})
  }
  return out
}

function misplaced(q: QueueDirs, path: string, reason: string, repair: boolean): void {
  if (repair) quarantine(q, path, reason)
}
