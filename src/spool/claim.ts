import {closeSync} from 'node:fs'
import {join} from 'node:path'

import {isErrno} from '../errors.js'
import {randomHex} from '../lazy.js'
import {AGING_MS, isExhausted, priorityRank} from '../policy.js'
import {deadLetter} from './dead-letter.js'
import {firstEntry, kindOf, listEntries, moveFile, NotRegularFileError, openRegular} from './fs.js'
import {CorruptMessageError, type MessageHeader, readMessageStart} from './header.js'
import {QueueDirs} from './layout.js'
import {bucketsOf, idTime, timeHex} from '../message-id.js'
import {formatName, type MessageName} from './message-name.js'
import {curDir, PRIORITY_DIR} from './paths.js'
import {nextDue, promoteDue} from './promote.js'
import {quarantine} from './quarantine.js'
import {nextLeaseExpiry, reclaimExpired} from './reclaim.js'
import {leafBuckets, type MessageEntry, messageFiles} from './walk.js'

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
  /** The lease granted, as a duration, and when it ends (this machine's clock: the spool's). */
  leaseMs: number
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
export function newToken(): string {
  return randomHex(4)
}

/** A long-running process sweeps expired leases and due delays at least this often (see ClaimCursor). */
export const SWEEP_EVERY_MS = 1000
/** A cached head bucket listing is read again after this long, at the latest. */
export const HEAD_TTL_MS = 1000
/** With several priorities in use, their ranking is computed again after this long, at the latest. */
export const RANK_TTL_MS = 100

interface Head {
  dir: string
  entries: MessageEntry[]
  next: number
  listedAt: number
}

/**
 * What a process remembers between its claims on one queue, so that a claim does not read
 * what the previous one just read. A cold process (one `mq pop`) starts with an empty cursor
 * and does everything; a long-running one (`mq consume`, a library user) claims from memory:
 *
 * - Sweeps (reclaim, promote) run at the earliest deadline this process has seen (its own
 *   short leases come back on time), at most SWEEP_EVERY_MS apart, and at once whenever a claim
 *   finds nothing ready. So an expired lease or a due delay is noticed by a process with work
 *   at most SWEEP_EVERY_MS late, and by an idle one at its next claim (man/mq-spool.5, SWEEPS).
 * - The head bucket of each priority is listed once and claimed from in order; it is listed
 *   again when used up, when this process gave a message back (release keeps its old place),
 *   after a sweep moved anything, and after HEAD_TTL_MS. A message another process gives back
 *   meanwhile waits for that.
 * - The priority ranking is computed again when the set of priority directories changes, or
 *   after RANK_TTL_MS: a new higher priority is claimed within 0.1 s by a busy consumer.
 *
 * Nothing here decides who gets a message: every claim is still one rename that exactly one
 * process wins. A cursor only changes which names a process tries first.
 */
export class ClaimCursor {
  nextSweepAt = 0
  sweptAt = -1
  private readonly heads = new Map<string, Head>()
  private ranking?: {order: string[]; at: number}

  /** Forget the listings (a message was given back, or a sweep moved some). */
  invalidate(): void {
    this.heads.clear()
    this.ranking = undefined
  }

  /** Forget the priority order (before concluding that nothing is ready). */
  forgetRanking(): void {
    this.ranking = undefined
  }

  head(p: string): Head | undefined {
    return this.heads.get(p)
  }

  setHead(p: string, h: Head | undefined): void {
    if (h) this.heads.set(p, h)
    else this.heads.delete(p)
  }

  rankingAt(now: number): string[] | undefined {
    const r = this.ranking
    return r && now - r.at < RANK_TTL_MS ? r.order : undefined
  }

  setRanking(order: string[], now: number): void {
    this.ranking = {at: now, order}
  }
}

/**
 * claimNext: claim the next ready message, or return null when none is ready.
 *
 * First, when due (see ClaimCursor), the sweep: expired leases go back to new/ and due delayed
 * messages come out of delay/ (both are renames; see reclaim.ts and promote.ts). Then, in
 * priority order (pickPriorityOrder), the oldest bucket's oldest name is renamed from
 * new/P/B7/B10/NAME to cur/B7/B10/NAME' (the buckets of the lease deadline), where NAME'
 * carries the raised delivery count, a fresh delivery token and the lease deadline. That one
 * rename is the claim; NAME' is the receipt. Finding nothing ready, it sweeps and looks again.
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
export function claimNext(q: QueueDirs, opts: ClaimOptions, cur: ClaimCursor = new ClaimCursor()): Claim | null {
  const now = opts.now ?? Date.now()
  if (now >= cur.nextSweepAt) sweep(q, now, cur)
  let claim = claimReady(q, now, opts, cur)
  if (!claim) {
    // Nothing ready as far as this process knew: look again, priorities and sweep included.
    cur.forgetRanking()
    if (cur.sweptAt !== now) sweep(q, now, cur)
    claim = claimReady(q, now, opts, cur)
  }
  // This process's own leases come back on time, even while it is busy.
  if (claim && claim.leaseUntil < cur.nextSweepAt) cur.nextSweepAt = claim.leaseUntil
  return claim
}

/** Reclaim and promote; schedule the next sweep; forget listings if anything moved. */
function sweep(q: QueueDirs, now: number, cur: ClaimCursor): void {
  const moved = reclaimExpired(q, now) + promoteDue(q, now)
  if (moved > 0) cur.invalidate()
  // From bucket names alone: a bucket's start bounds its times from below (to within 256 ms).
  // A bucket that started already holds times within the next 256 ms.
  const next = Math.min(nextLeaseExpiry(q) ?? Number.POSITIVE_INFINITY, nextDue(q) ?? Number.POSITIVE_INFINITY)
  cur.nextSweepAt = Math.min(next <= now ? now + 256 : next, now + SWEEP_EVERY_MS)
  cur.sweptAt = now
}

function claimReady(q: QueueDirs, now: number, opts: ClaimOptions, cur: ClaimCursor): Claim | null {
  for (const p of pickPriorityOrder(q, now, opts.agingMs ?? DEFAULT_AGING_MS, cur)) {
    const claim = claimFromPriority(q, p, now, opts, cur)
    if (claim) return claim
  }
  return null
}

/**
 * Priority order with aging: each priority directory is ranked by P + floor(age / agingMs),
 * where age is that of its oldest message; ties go to the older head. So a priority-0 message
 * waiting 9 aging periods ranks with a fresh priority-9 one: a flood of urgent messages slows
 * but never starves the rest. With one priority in use (the common case) only new/ is read.
 * The order is remembered for RANK_TTL_MS (see ClaimCursor).
 */
function pickPriorityOrder(q: QueueDirs, now: number, agingMs: number, cur: ClaimCursor): string[] {
  const cached = cur.rankingAt(now)
  if (cached) return cached
  const dirs: string[] = []
  for (const e of listEntries(q.new)) {
    if (e.isDirectory() && PRIORITY_DIR.test(e.name)) dirs.push(e.name)
    else quarantine(q, join(q.new, e.name), e.isDirectory() ? 'not a priority directory (0-9)' : `a ${kindOf(e)} where a priority directory must be`)
  }
  if (dirs.length <= 1) {
    cur.setRanking(dirs, now)
    return dirs
  }
  const ranked = dirs.map((p) => {
    const head = firstEntry(join(q.new, p), 2)?.slice(0, 33)
    return {head: head ?? '~', p, rank: head ? priorityRank(Number(p), idTime(head), now, agingMs) : -1}
  })
  ranked.sort((a, b) => b.rank - a.rank || (a.head < b.head ? -1 : 1))
  const order = ranked.map((r) => r.p)
  cur.setRanking(order, now)
  return order
}

const readyRule = (m: MessageName) => (m.leaseUntil !== undefined || m.notBefore !== undefined ? 'ready file with a lease or not-before field' : undefined)

/** Claims from the cursor's head listing of priority p, listing the next head bucket when it is used up. */
function claimFromPriority(q: QueueDirs, p: string, now: number, opts: ClaimOptions, cur: ClaimCursor): Claim | null {
  let head = cur.head(p)
  if (head && now - head.listedAt >= HEAD_TTL_MS) head = undefined
  for (;;) {
    if (!head || head.next >= head.entries.length) {
      head = findHead(q, q.new + '/' + p, now)
      cur.setHead(p, head)
      if (!head) return null
    }
    const {m, path} = head.entries[head.next++]
    const claim = tryClaim(q, path, m, now, opts)
    if (claim) return claim
  }
}

/** The first bucket of a priority that holds messages, listed; emptied older buckets are removed on the way. */
function findHead(q: QueueDirs, pdir: string, now: number): Head | undefined {
  const current = bucketsOf(timeHex(now))
  for (const dir of leafBuckets(q, pdir, {pruneBefore: current, repair: true, what: 'ready'})) {
    const entries = messageFiles(q, dir, true, readyRule)
    if (entries.length > 0) return {dir, entries, listedAt: now, next: 0}
  }
  return undefined
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
  const path = dir + '/' + receipt
  const base = {attempt: claimed.attempt, enqueuedAt: idTime(m.id), id: m.id, leaseMs: opts.leaseMs, leaseUntil, path, priority: m.priority, receipt}
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
  if (m.noExpiry) delete start.header.expiresAt
  if (start.header.expiresAt !== undefined && start.header.expiresAt <= now) {
    // Not delivered: the dead letter keeps the count of deliveries made before.
    deadLetter(q, path, {...claimed, attempt: m.attempt}, {at: now, attempts: m.attempt, lastError: 'expired before delivery', reason: 'expired'})
    return null
  }
  return {...base, body: start.body, bodyOffset: start.bodyOffset, bodySize: start.bodySize, header: start.header}
}
