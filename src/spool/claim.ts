import {randomFillSync} from 'node:crypto'
import {closeSync} from 'node:fs'
import {join} from 'node:path'

import {isErrno} from '../errors.js'
import {AGING_MS, isExhausted, priorityRank} from '../policy.js'
import {deadLetter} from './dead-letter.js'
import {firstEntry, kindOf, listEntries, moveFile, NotRegularFileError, openRegular} from './fs.js'
import {CorruptMessageError, type MessageHeader, readMessageStart} from './header.js'
import {QueueDirs} from './layout.js'
import {bucketsOf, idTime, timeHex} from '../message-id.js'
import {formatName, type MessageName} from './message-name.js'
import {curDir, PRIORITY_DIR} from './paths.js'
import {promoteDue} from './promote.js'
import {quarantine} from './quarantine.js'
import {reclaimExpired} from './reclaim.js'
import {leafBuckets, messageFiles} from './walk.js'

export interface ClaimOptions {
  /** Lease length in ms: unacked after this, the message is reclaimed and delivered again. */
  leaseMs: number
  /** A message already delivered this many times is dead-lettered instead of delivered again. */
  maxAttempts: number
  /** Priority aging, ms per level (see pickPriorityOrder). */
  agingMs?: number
  now?: number
}

export interface Claim {
  id: string
  /** The message's file name in cur/ at the claim: the receipt that ack, nack and renew take. */
  receipt: string
  /** This delivery's number, 1 for the first. */
  attempt: number
  priority: number
  enqueuedAt: number
  leaseUntil: number
  header: MessageHeader
  /** Path of the claimed file, where its body starts in it, and the body's size. */
  path: string
  bodyOffset: number
  bodySize: number
  /** The whole body, when it was small enough to come with the first read. */
  body?: Buffer
}

export const DEFAULT_AGING_MS = AGING_MS

/** Delivery tokens: 8 hex digits of randomness, drawn from a pool. */
const pool = Buffer.alloc(4096)
let poolAt = pool.length
export function newToken(): string {
  if (poolAt + 4 > pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  poolAt += 4
  return pool.toString('hex', poolAt - 4, poolAt)
}

/**
 * claimNext: claim the next ready message, or return null when none is ready.
 *
 * First the sweep: expired leases go back to new/ and due delayed messages come out of delay/
 * (both are renames; see reclaim.ts and promote.ts). Then, in priority order (pickPriorityOrder),
 * the oldest bucket's oldest name is renamed from new/P/B7/B10/NAME to cur/B7/B10/NAME' (the
 * buckets of the lease deadline), where NAME' carries the raised delivery count, a fresh
 * delivery token and the lease deadline. That one rename is the claim; NAME' is the receipt.
 *
 * RACE: consumers listing the same bucket try the same oldest name; rename(2) lets exactly one
 * win, the others get ENOENT (moveFile returns false) and try the next name. Only the buckets
 * needed are read (~1k names each), never the whole backlog. Emptied buckets are removed,
 * except the one being filled now (it would only be made again by the next push).
 *
 * A message already delivered maxAttempts times is dead-lettered (reason max_attempts); one
 * whose header expiry has passed is dead-lettered (reason expired). Damage never stops the
 * search: a name that is not a message, an entry that is not a regular file (a FIFO, a socket,
 * a directory, a symlink: read by its type, never opened), a bucket that is not a directory,
 * a corrupt header: each is quarantined (walk.ts) and the next message is tried.
 */
export function claimNext(q: QueueDirs, opts: ClaimOptions): Claim | null {
  const now = opts.now ?? Date.now()
  reclaimExpired(q, now)
  promoteDue(q, now)
  for (const p of pickPriorityOrder(q, now, opts.agingMs ?? DEFAULT_AGING_MS)) {
    const claim = claimFromPriority(q, join(q.new, p), now, opts)
    if (claim) return claim
  }
  return null
}

/**
 * Priority order with aging: each priority directory is ranked by P + floor(age / agingMs),
 * where age is that of its oldest message; ties go to the older head. So a priority-0 message
 * waiting 9 aging periods ranks with a fresh priority-9 one: a flood of urgent messages slows
 * but never starves the rest. With one priority in use (the common case) nothing is read.
 */
function pickPriorityOrder(q: QueueDirs, now: number, agingMs: number): string[] {
  const dirs: string[] = []
  for (const e of listEntries(q.new)) {
    if (e.isDirectory() && PRIORITY_DIR.test(e.name)) dirs.push(e.name)
    else quarantine(q, join(q.new, e.name), e.isDirectory() ? 'not a priority directory (0-9)' : `a ${kindOf(e)} where a priority directory must be`)
  }
  if (dirs.length <= 1) return dirs
  const ranked = dirs.map((p) => {
    const head = firstEntry(join(q.new, p), 2)?.slice(0, 33)
    return {head: head ?? '~', p, rank: head ? priorityRank(Number(p), idTime(head), now, agingMs) : -1}
  })
  ranked.sort((a, b) => b.rank - a.rank || (a.head < b.head ? -1 : 1))
  return ranked.map((r) => r.p)
}

const readyRule = (m: MessageName) => (m.leaseUntil !== undefined || m.notBefore !== undefined ? 'ready file with a lease or not-before field' : undefined)

function claimFromPriority(q: QueueDirs, pdir: string, now: number, opts: ClaimOptions): Claim | null {
  const current = bucketsOf(timeHex(now))
  for (const dir of leafBuckets(q, pdir, {pruneBefore: current, repair: true, what: 'ready'})) {
    for (const {m, path} of messageFiles(q, dir, true, readyRule)) {
      const claim = tryClaim(q, path, m, now, opts)
      if (claim) return claim
    }
  }
  return null
}

/** One claim attempt on one ready file; null if it was lost, dead-lettered or quarantined. */
function tryClaim(q: QueueDirs, src: string, m: MessageName, now: number, opts: ClaimOptions): Claim | null {
  if (isExhausted(m.attempt, opts.maxAttempts)) {
    deadLetter(q, src, m, {at: now, attempts: m.attempt, lastError: 'its last delivery was not acked', reason: 'max_attempts'})
    return null
  }
  const leaseUntil = now + opts.leaseMs
  const claimed: MessageName = {...m, attempt: m.attempt + 1, leaseUntil, token: newToken()}
  const receipt = formatName(claimed)
  const dir = curDir(q, leaseUntil)
  if (!moveFile(src, dir, receipt, undefined, q.perms)) return null // RACE: another consumer claimed it first
  const path = join(dir, receipt)
  // The rename moved whatever was there; only now is it opened, without following a symlink
  // and without blocking on a FIFO (an entry swapped in after the listing is caught here).
  let opened
  try {
    opened = openRegular(path)
  } catch (error) {
    if (error instanceof NotRegularFileError) {
      quarantine(q, path, `a ${error.kind} where a message file must be`)
      return null
    }
    if (isErrno(error, 'ENOENT')) return null // reclaimed already (a lease shorter than this look)
    throw error
  }
  let start
  try {
    start = readMessageStart(opened.fd, opened.size, m.header)
  } catch (error) {
    if (!(error instanceof CorruptMessageError)) throw error
    quarantine(q, path, `corrupt header: ${error.message}`)
    return null
  } finally {
    closeSync(opened.fd)
  }
  if (start.header.expiresAt !== undefined && start.header.expiresAt <= now) {
    // Not delivered: the dead letter keeps the count of deliveries made before.
    deadLetter(q, path, {...claimed, attempt: m.attempt}, {at: now, attempts: m.attempt, lastError: 'expired before delivery', reason: 'expired'})
    return null
  }
  return {
    attempt: claimed.attempt,
    body: start.body,
    bodyOffset: start.bodyOffset,
    bodySize: start.bodySize,
    enqueuedAt: idTime(m.id),
    header: start.header,
    id: m.id,
    leaseUntil: claimed.leaseUntil!,
    path,
    priority: m.priority,
    receipt,
  }
}
