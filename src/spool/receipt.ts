import {lstatSync} from 'node:fs'
import {join} from 'node:path'

import {DataError, NotInFlightError} from '../errors.js'
import {listDir} from './fs.js'
import {QueueDirs} from './layout.js'
import {isMessageId} from '../message-id.js'
import {formatName, type MessageName, parseName, readyName} from './message-name.js'
import {curDir, readyDir} from './paths.js'
import {leafBuckets} from './walk.js'

/**
 * A receipt names one delivery for the whole of it (man/mq-spool.5, RECEIPTS). It is the
 * claimed file's name at the claim: ID,aN[,pN],tTOKEN,lDEADLINE[,h]. A renewal renames the
 * file to a later deadline (a new "l", another bucket of cur/) and keeps the token; a new claim
 * of the same message gets a new token. So the token, with the id, is what a receipt means;
 * the rest tells where to look first.
 *
 * A bare message id is accepted too, for convenience: it resolves to whatever claim of that id
 * is in flight now, without a receipt's protection against acking someone else's delivery.
 */
export interface ClaimRef {
  /** The receipt's (or the found file's) fields; the token and the id identify the delivery. */
  m: MessageName
  /** Where the delivery's file is now (as far as we know: a rename of it may still fail with ENOENT). */
  path: string
  /** Its file name there. */
  name: string
}

/** Parses a receipt or a bare id; anything else is DataError (65). */
export function parseReceipt(q: QueueDirs, ref: string): {bare: boolean; m: MessageName} {
  const parsed = parseName(ref)
  if (parsed && parsed.leaseUntil !== undefined) return {bare: false, m: parsed}
  if (isMessageId(ref)) return {bare: true, m: {attempt: 0, header: false, id: ref, priority: 0}}
  throw new DataError(`${q.name}: ${JSON.stringify(ref)} is neither a receipt nor a message id`)
}

/**
 * The places a delivery's file may be, most likely first: where this process last renamed it
 * (`known`), where the receipt says (its own bucket; the flat cur/ of format 1).
 */
export function candidatePaths(q: QueueDirs, ref: string, m: MessageName, known?: string): string[] {
  const out: string[] = []
  if (known) out.push(known)
  if (m.leaseUntil !== undefined) out.push(curDir(q, m.leaseUntil) + '/' + ref, q.cur + '/' + ref)
  return out
}

/**
 * Finds the delivery named by `ref` in cur/ by scanning (O(in flight)): for a receipt whose
 * file another process renewed, and for a bare id. Undefined when it is not in flight.
 */
export function findClaim(q: QueueDirs, ref: string): ClaimRef | undefined {
  const {bare, m} = parseReceipt(q, ref)
  const prefix = m.id + ','
  const matches = (name: string): MessageName | undefined => {
    if (!name.startsWith(prefix)) return undefined
    const found = parseName(name)
    if (!found || found.leaseUntil === undefined) return undefined
    if (bare) return found
    // The same delivery: same token (a format-1 receipt has none: then the same delivery count).
    return found.token === m.token && (m.token !== undefined || found.attempt === m.attempt) ? found : undefined
  }
  for (const dir of curLeaves(q, false)) {
    for (const name of listDir(dir)) {
      const found = matches(name)
      if (found) return {m: found, name, path: dir + '/' + name}
    }
  }
  return undefined
}

/**
 * Runs `op` on the delivery's file: on each candidate path, then on what a scan finds. `op`
 * returns false when its rename found no file (ENOENT). Throws NotInFlightError when the
 * delivery is not in flight (acked, released, dead-lettered, or its lease lost and the message
 * claimed again). Returns op's result and where it acted.
 */
export function withClaim<T>(q: QueueDirs, ref: string, known: string | undefined, op: (c: ClaimRef) => T | false): {result: T; at: ClaimRef} {
  const {bare, m} = parseReceipt(q, ref)
  if (!bare) {
    for (const path of candidatePaths(q, ref, m, known)) {
      const name = path.slice(path.lastIndexOf('/') + 1)
      const at = {m: name === ref ? m : (parseName(name) ?? m), name, path}
      const result = op(at)
      if (result !== false) return {at, result}
    }
  }
  const found = findClaim(q, ref)
  if (found) {
    const result = op(found)
    if (result !== false) return {at: found, result}
  }
  throw notInFlight(q, ref)
}

/**
 * The error for a delivery that is not in flight, saying what became of the message where that
 * is cheap to find out: claimed again under another delivery, or back in new/.
 */
export function notInFlight(q: QueueDirs, ref: string): NotInFlightError {
  const m = parseName(ref)
  const id = ref.slice(0, 33)
  if (isMessageId(id) && m) {
    const again = findClaim(q, id)
    if (again && (again.m.token !== m.token || again.m.attempt !== m.attempt))
      return NotInFlightError.claimedAgain(q.name, id, again.m.attempt)
    if (m.leaseUntil !== undefined) {
      const back = readyName(m)
      if (lstatSync(join(readyDir(q, back), formatName(back)), {throwIfNoEntry: false}))
        return new NotInFlightError(q.name, id, 'lease lost: the lease expired and the message is ready again')
    }
  }
  return NotInFlightError.gone(q.name, id)
}

/** The directories of cur/ that hold claimed files: its flat top (format 1) and its buckets. */
export function curLeaves(q: QueueDirs, repair: boolean): string[] {
  return [q.cur, ...leafBuckets(q, q.cur, {filesAtTop: true, repair, what: 'lease'})]
}

