import {closeSync, readSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {deadFiles, isPaused} from './admin.js'
import {isRealDir} from './create-queue.js'
import {type MessageInfo, type MessageState, type QueueStats} from '../backend.js'
import {readDeadReason} from './dead-letter.js'
import {readFailure} from './failures.js'
import {countState} from './depth.js'
import {countEntries, firstEntry, listEntries, NotRegularFileError, openRegular} from './fs.js'
import {CorruptMessageError, type MessageHeader, readMessageStart} from './header.js'
import {QueueDirs, validateQueueName} from './layout.js'
import {idTime} from '../message-id.js'
import {type MessageName} from './message-name.js'
import {PRIORITY_DIR} from './paths.js'
import {claimedRule} from './reclaim.js'
import {leafBuckets, type MessageEntry, messageFiles} from './walk.js'

/**
 * Read-only views of a queue: peek (messages in one state, in delivery order) and stats
 * (counts per state). Nothing here renames, so both are safe at any time; what they report
 * may be stale by the time it is printed.
 */

export type {MessageInfo, MessageState, QueueStats}

/**
 * Up to `limit` messages in `state`, in the order they would be delivered (or died). Read-only:
 * entries that are not messages are skipped (a claim or gc quarantines them), files are opened
 * without following links or blocking on FIFOs.
 */
export function peekMessages(q: QueueDirs, state: MessageState, limit: number, withBody: boolean): MessageInfo[] {
  const out: MessageInfo[] = []
  const add = (entries: MessageEntry[]): boolean => {
    for (const {m, path} of entries) {
      if (out.length >= limit) return false
      const info = describe(q, path, m, state, withBody)
      if (info) out.push(info)
    }
    return out.length < limit
  }
  const walk = (root: string, sort?: (a: MessageEntry, b: MessageEntry) => number): boolean => {
    if (!isRealDir(root)) return true
    for (const dir of leafBuckets(q, root, {repair: false, what: 'state'})) {
      const entries = messageFiles(q, dir, false)
      if (!add(sort ? entries.sort(sort) : entries)) return false
    }
    return true
  }
  switch (state) {
    case 'ready': {
      if (!isRealDir(q.new)) break
      const prios = listEntries(q.new)
        .filter((e) => e.isDirectory() && PRIORITY_DIR.test(e.name))
        .map((e) => e.name)
        .reverse()
      for (const p of prios) if (!walk(join(q.new, p))) break
      break
    }
    case 'delayed': {
      walk(q.delay, (a, b) => (a.m.notBefore ?? 0) - (b.m.notBefore ?? 0))
      break
    }
    case 'inflight': {
      // By lease deadline: the order in which they would come back if nobody acked.
      if (!isRealDir(q.cur)) break
      const flat = messageFiles(q, q.cur, false, claimedRule, true)
      const buckets = leafBuckets(q, q.cur, {filesAtTop: true, repair: false, what: 'lease'})
      const byDeadline = (a: MessageEntry, b: MessageEntry) => a.m.leaseUntil! - b.m.leaseUntil!
      if (flat.length > 0 && !add(flat.sort(byDeadline))) break
      for (const dir of buckets) if (!add(messageFiles(q, dir, false, claimedRule).sort(byDeadline))) break
      break
    }
    case 'dead': {
      if (isRealDir(q.dead)) add(deadFiles(q, false).sort((a, b) => (a.name < b.name ? -1 : 1)))
      break
    }
    case 'done': {
      if (isRealDir(q.done)) add(messageFiles(q, q.done, false))
      break
    }
  }
  return out
}

/** Where a message is now: its state, its file, its name's fields. */
export interface FoundMessage {
  state: MessageState
  path: string
  m: MessageName
}

/**
 * The message with this id, wherever it is: a scan of the queue's states (O(messages)), in the
 * order messages move (ready, delayed, in flight, then dead and done). RACE: a message that
 * moves back to a state already scanned (a release) can be missed by one scan: a miss is
 * scanned once more before it is believed.
 */
export function findMessage(q: QueueDirs, id: string): FoundMessage | undefined {
  return scanFor(q, new Set([id])).get(id) ?? scanFor(q, new Set([id])).get(id)
}

/**
 * Where each of these ids is, in one scan of the queue (for mq wait: a hundred ids cost one
 * scan, not a hundred); an id not found is scanned for once more (see findMessage).
 */
export function findMessages(q: QueueDirs, ids: string[]): Map<string, FoundMessage> {
  const found = scanFor(q, new Set(ids))
  const missing = new Set(ids.filter((id) => !found.has(id)))
  if (missing.size > 0) for (const [id, f] of scanFor(q, missing)) found.set(id, f)
  return found
}

function scanFor(q: QueueDirs, wanted: Set<string>): Map<string, FoundMessage> {
  const out = new Map<string, FoundMessage>()
  const done = () => out.size === wanted.size
  const inDir = (dir: string, state: MessageState, accept?: Parameters<typeof messageFiles>[3], skipDirs = false): undefined => {
    if (!isRealDir(dir) || done()) return undefined
    for (const e of messageFiles(q, dir, false, accept, skipDirs)) if (wanted.has(e.m.id) && !out.has(e.m.id)) out.set(e.m.id, {m: e.m, path: e.path, state})
    return undefined
  }
  const inTree = (root: string, state: MessageState, what: 'lease' | 'state', accept?: Parameters<typeof messageFiles>[3]): void => {
    if (!isRealDir(root)) return
    for (const dir of leafBuckets(q, root, {repair: false, what})) {
      if (done()) return
      inDir(dir, state, accept)
    }
  }
  for (const e of isRealDir(q.new) ? listEntries(q.new) : []) if (e.isDirectory() && PRIORITY_DIR.test(e.name)) inTree(join(q.new, e.name), 'ready', 'state')
  inTree(q.delay, 'delayed', 'state')
  inDir(q.cur, 'inflight', claimedRule, true)
  if (isRealDir(q.cur)) for (const d of leafBuckets(q, q.cur, {filesAtTop: true, repair: false, what: 'lease'})) inDir(d, 'inflight', claimedRule)
  if (isRealDir(q.dead) && !done()) for (const e of deadFiles(q, false)) if (wanted.has(e.m.id) && !out.has(e.m.id)) out.set(e.m.id, {m: e.m, path: e.path, state: 'dead'})
  inDir(q.done, 'done')
  return out
}

/** One message by id, described as peek describes it; undefined when the queue has none. */
export function showMessage(q: QueueDirs, id: string, withBody: boolean): MessageInfo | undefined {
  for (let i = 0; i < 3; i++) {
    const found = findMessage(q, id)
    if (!found) return undefined
    const info = describe(q, found.path, found.m, found.state, withBody)
    if (!info) continue // it moved on while we looked: find it again
    const failure = found.state === 'ready' || found.state === 'delayed' || found.state === 'inflight' ? readFailure(q, id) : undefined
    return failure ? {...info, lastFailure: failure} : info
  }
  return undefined
}

function describe(q: QueueDirs, path: string, m: MessageName, state: MessageState, withBody: boolean): MessageInfo | undefined {
  let opened
  try {
    opened = openRegular(path)
  } catch (error) {
    if (isErrno(error, 'ENOENT') || error instanceof NotRegularFileError) return undefined // moved on while we looked
    throw ioError('open', path, error)
  }
  let header: MessageHeader = {}
  let body: Buffer | undefined
  let size = opened.size
  try {
    let offset = 0
    try {
      const start = readMessageStart(opened.fd, opened.size, m.header)
      header = start.header
      offset = start.bodyOffset
      size = start.bodySize
      body = start.body
    } catch (error) {
      if (!(error instanceof CorruptMessageError)) throw error
    }
    if (withBody && !body) {
      body = Buffer.allocUnsafe(size)
      for (let off = 0; off < size; ) {
        const n = readSync(opened.fd, body, off, size - off, offset + off)
        if (n === 0) break
        off += n
      }
    }
  } catch (error) {
    throw ioError('read', path, error)
  } finally {
    closeSync(opened.fd)
  }
  const info: MessageInfo = {attempt: m.attempt, enqueuedAt: idTime(m.id), id: m.id, priority: m.priority, size, state}
  if (withBody) info.body = body
  if (m.leaseUntil !== undefined) info.leaseUntil = m.leaseUntil
  if (m.notBefore !== undefined) info.notBefore = m.notBefore
  if (header.key !== undefined) info.key = header.key
  if (header.headers !== undefined) info.headers = header.headers
  if (header.expiresAt !== undefined && !m.noExpiry) info.expiresAt = header.expiresAt
  if (header.topic !== undefined) info.topic = header.topic
  if (state === 'dead') {
    const reason = readDeadReason(q, m.id)
    if (reason) info.reason = reason
  }
  return info
}

/**
 * queueStats: counts per state, streaming (fs.ts countEntries), so memory stays flat at any
 * backlog; time is one pass over the entries (~1 µs each).
 */
export function queueStats(q: QueueDirs, now: number = Date.now()): QueueStats {
  let oldest: number | undefined
  // A state directory that is not a real directory (a planted symlink) counts nothing.
  const count = (dir: string, depth: number, opts?: Parameters<typeof countEntries>[2]) => (isRealDir(dir) ? countEntries(dir, depth, opts) : 0)
  for (const e of isRealDir(q.new) ? listEntries(q.new) : []) {
    const p = e.name
    if (!e.isDirectory() || !PRIORITY_DIR.test(p)) continue
    const head = firstEntry(join(q.new, p), 2)
    if (head) {
      const t = idTime(head)
      if (oldest === undefined || t < oldest) oldest = t
    }
  }
  return {
    dead: count(q.dead, 0, {keep: (n) => !n.endsWith('.reason') && !n.startsWith('.')}),
    delayed: isRealDir(q.delay) ? countState(q, 'delay') : 0,
    done: count(q.done, 0),
    inflight: isRealDir(q.cur) ? countState(q, 'cur') : 0,
    oldestReadyAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
    paused: isPaused(q),
    queue: q.name,
    ready: isRealDir(q.new) ? countState(q, 'new') : 0,
  }
}

/** Entries quarantined into bad/ (the spool's diagnostics: not part of a queue's stats). */
export function quarantinedCount(q: QueueDirs): number {
  return isRealDir(q.bad) ? countEntries(q.bad, 0, {anyType: true, keep: (n) => !n.endsWith('.reason')}) : 0
}

/** Queues in a spool: its subdirectories with a valid name and a new/ directory. */
export function listQueueNames(spool: string): string[] {
  return listEntries(spool)
    .filter((e) => {
      if (!e.isDirectory()) return false
      try {
        validateQueueName(e.name)
      } catch {
        return false
      }
      return isRealDir(join(spool, e.name, 'new'))
    })
    .map((e) => e.name)
}
