import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {isPaused} from './admin.js'
import {readDeadReason, type DeadReason} from './dead-letter.js'
import {countEntries, firstEntry, listDir, listSorted} from './fs.js'
import {decodeMessage, type MessageHeader} from './header.js'
import {QueueDirs, validateQueueName} from './layout.js'
import {idTime} from './message-id.js'
import {type MessageName, parseName} from './message-name.js'
import {PRIORITY_DIR} from './paths.js'

/**
 * Read-only views of a queue: peek (messages in one state, in delivery order) and stats
 * (counts per state). Nothing here renames, so both are safe at any time; what they report
 * may be stale by the time it is printed.
 */

export type PeekState = 'dead' | 'delayed' | 'done' | 'inflight' | 'ready'

export interface MessageInfo {
  id: string
  state: PeekState
  /** Deliveries so far. */
  attempt: number
  priority: number
  enqueuedAt: number
  notBefore?: number
  leaseUntil?: number
  size: number
  header: MessageHeader
  reason?: DeadReason
  body?: Buffer
  path: string
}

/** Up to `limit` messages in `state`, in the order they would be delivered (or died). */
export function peekMessages(q: QueueDirs, state: PeekState, limit: number, withBody: boolean): MessageInfo[] {
  const out: MessageInfo[] = []
  const add = (dir: string, names: string[]): boolean => {
    for (const name of names) {
      if (out.length >= limit) return false
      const m = parseName(name)
      if (!m) continue
      const info = describe(q, join(dir, name), m, state, withBody)
      if (info) out.push(info)
    }
    return out.length < limit
  }
  switch (state) {
    case 'ready': {
      const prios = listDir(q.new).filter((p) => PRIORITY_DIR.test(p)).sort().reverse()
      for (const p of prios) if (!walkBuckets(join(q.new, p), add)) break
      break
    }
    case 'delayed': {
      walkBuckets(q.delay, (dir, names) =>
        add(
          dir,
          names.sort((a, b) => (parseName(a)?.notBefore ?? 0) - (parseName(b)?.notBefore ?? 0)),
        ),
      )
      break
    }
    case 'inflight': {
      add(q.cur, listSorted(q.cur))
      break
    }
    case 'dead': {
      add(q.dead, listSorted(q.dead))
      break
    }
    case 'done': {
      add(q.done, listSorted(q.done))
      break
    }
  }
  return out
}

/** Visits B7/B10 buckets under dir in time order until visit returns false. */
function walkBuckets(dir: string, visit: (dir: string, names: string[]) => boolean): boolean {
  for (const b7 of listSorted(dir)) {
    for (const b10 of listSorted(join(dir, b7))) {
      const d = join(dir, b7, b10)
      if (!visit(d, listSorted(d))) return false
    }
  }
  return true
}

function describe(q: QueueDirs, path: string, m: MessageName, state: PeekState, withBody: boolean): MessageInfo | undefined {
  let data: Buffer
  try {
    data = withBody || m.header ? readFileSync(path) : Buffer.alloc(0)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined // moved on while we looked
    throw ioError('read', path, error)
  }
  let header: MessageHeader = {}
  let body: Buffer | undefined
  try {
    const decoded = decodeMessage(data, m.header)
    header = decoded.header
    body = decoded.body
  } catch {
    body = data
  }
  let size = body.length
  if (!withBody && !m.header) {
    try {
      size = statSync(path).size
    } catch {
      return undefined
    }
  }
  return {
    attempt: m.attempt,
    body: withBody ? body : undefined,
    enqueuedAt: idTime(m.id),
    header,
    id: m.id,
    leaseUntil: m.leaseUntil,
    notBefore: m.notBefore,
    path,
    priority: m.priority,
    reason: state === 'dead' ? readDeadReason(q, m.id) : undefined,
    size,
    state,
  }
}

export interface QueueStats {
  queue: string
  ready: number
  inflight: number
  delayed: number
  done: number
  dead: number
  /** Quarantined files in bad/. */
  bad: number
  /** Age in ms of the oldest ready message (by enqueue time), null when none is ready. */
  oldestReadyAgeMs: number | null
  paused: boolean
}

/**
 * queueStats: counts per state, streaming (fs.ts countEntries), so memory stays flat at any
 * backlog; time is one pass over the entries (~1 µs each).
 */
export function queueStats(q: QueueDirs, now: number = Date.now()): QueueStats {
  let oldest: number | undefined
  for (const p of listDir(q.new)) {
    if (!PRIORITY_DIR.test(p)) continue
    const head = firstEntry(join(q.new, p), 2)
    if (head) {
      const t = idTime(head)
      if (oldest === undefined || t < oldest) oldest = t
    }
  }
  return {
    bad: countEntries(q.bad, 0, {keep: (n) => !n.endsWith('.reason')}),
    dead: countEntries(q.dead, 0, {keep: (n) => !n.endsWith('.reason') && !n.startsWith('.')}),
    delayed: countEntries(q.delay, 2),
    done: countEntries(q.done, 0),
    inflight: countEntries(q.cur, 0),
    oldestReadyAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
    paused: isPaused(q),
    queue: q.name,
    ready: countEntries(q.new, 3),
  }
}

/** Queues in a spool: its subdirectories with a valid name and a new/ directory. */
export function listQueueNames(spool: string): string[] {
  return listSorted(spool).filter((name) => {
    try {
      validateQueueName(name)
    } catch {
      return false
    }
    return listDir(join(spool, name)).includes('new')
  })
}
