import {join} from 'node:path'

import {deadLetter} from './dead-letter.js'
import {firstEntry, listSorted, moveFile, removeEmptyDir} from './fs.js'
import {CorruptMessageError, type MessageHeader, readHeader} from './header.js'
import {QueueDirs} from './layout.js'
import {bucketsOf, idTime, timeHex} from './message-id.js'
import {formatName, type MessageName, parseName} from './message-name.js'
import {B10, B7, PRIORITY_DIR} from './paths.js'
import {promoteDue} from './promote.js'
import {quarantine} from './quarantine.js'
import {reclaimExpired} from './reclaim.js'

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
  /** The message's file name in cur/: the receipt that ack, nack and renew take. */
  receipt: string
  /** This delivery's number, 1 for the first. */
  attempt: number
  priority: number
  enqueuedAt: number
  leaseUntil: number
  header: MessageHeader
  /** Path of the claimed file, and where its body starts in it. */
  path: string
  bodyOffset: number
}

export const DEFAULT_AGING_MS = 60_000

/**
 * claimNext: claim the next ready message, or return null when none is ready.
 *
 * First the sweep: expired leases go back to new/ and due delayed messages come out of delay/
 * (both are renames; see reclaim.ts and promote.ts). Then, in priority order (pickPriorityOrder),
 * the oldest bucket's oldest name is renamed from new/P/B7/B10/NAME to cur/NAME', where NAME'
 * carries the raised delivery count and the lease deadline. That one rename is the claim.
 *
 * RACE: consumers listing the same bucket try the same oldest name; rename(2) lets exactly one
 * win, the others get ENOENT (moveFile returns false) and try the next name. Only the buckets
 * needed are read (~1k names each), never the whole backlog. Emptied buckets are removed,
 * except the one being filled now (it would only be made again by the next push).
 *
 * A message already delivered maxAttempts times is dead-lettered (reason max_attempts); one
 * whose header expiry has passed is dead-lettered (reason expired); a file that is not a
 * message, or whose header is corrupt, is quarantined. None of these stops the search.
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
  for (const p of listSorted(q.new)) {
    if (PRIORITY_DIR.test(p)) dirs.push(p)
    else quarantine(q, join(q.new, p), 'not a priority directory (0-9)')
  }
  if (dirs.length <= 1) return dirs
  const ranked = dirs.map((p) => {
    const head = firstEntry(join(q.new, p), 2)?.slice(0, 33)
    const age = head ? Math.max(0, now - idTime(head)) : 0
    return {head: head ?? '~', p, rank: head ? Number(p) + Math.floor(age / agingMs) : -1}
  })
  ranked.sort((a, b) => b.rank - a.rank || (a.head < b.head ? -1 : 1))
  return ranked.map((r) => r.p)
}

function claimFromPriority(q: QueueDirs, pdir: string, now: number, opts: ClaimOptions): Claim | null {
  const [now7, now10] = bucketsOf(timeHex(now))
  for (const b7 of listSorted(pdir)) {
    const d7 = join(pdir, b7)
    if (!B7.test(b7)) {
      quarantine(q, d7, 'not a time bucket')
      continue
    }
    for (const b10 of listSorted(d7)) {
      const d10 = join(d7, b10)
      if (!B10.test(b10)) {
        quarantine(q, d10, 'not a time bucket')
        continue
      }
      for (const name of listSorted(d10)) {
        const claim = tryClaim(q, d10, name, now, opts)
        if (claim) return claim
      }
      if (b10 < now10) removeEmptyDir(d10)
    }
    if (b7 < now7) removeEmptyDir(d7)
  }
  return null
}

/** One claim attempt on one ready file; null if it was lost, dead-lettered or quarantined. */
function tryClaim(q: QueueDirs, dir: string, name: string, now: number, opts: ClaimOptions): Claim | null {
  const src = join(dir, name)
  const m = parseName(name)
  if (!m || m.leaseUntil !== undefined || m.notBefore !== undefined) {
    quarantine(q, src, m ? 'ready file with a lease or not-before field' : 'not a message name')
    return null
  }
  if (m.attempt >= opts.maxAttempts) {
    deadLetter(q, src, m, {at: now, attempts: m.attempt, reason: 'max_attempts'})
    return null
  }
  const claimed: MessageName = {...m, attempt: m.attempt + 1, leaseUntil: now + opts.leaseMs}
  const receipt = formatName(claimed)
  if (!moveFile(src, q.cur, receipt)) return null // RACE: another consumer claimed it first
  const path = join(q.cur, receipt)
  let header: MessageHeader
  let bodyOffset: number
  try {
    ;({bodyOffset, header} = readHeader(path, m.header))
  } catch (error) {
    if (!(error instanceof CorruptMessageError)) throw error
    quarantine(q, path, `corrupt header: ${error.message}`)
    return null
  }
  if (header.expiresAt !== undefined && header.expiresAt <= now) {
    deadLetter(q, path, claimed, {at: now, attempts: m.attempt, lastError: 'expired before delivery', reason: 'expired'})
    return null
  }
  return {
    attempt: claimed.attempt,
    bodyOffset,
    enqueuedAt: idTime(m.id),
    header,
    id: m.id,
    leaseUntil: claimed.leaseUntil!,
    path,
    priority: m.priority,
    receipt,
  }
}
