import {lstatSync} from 'node:fs'
import {join} from 'node:path'

import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName} from './message-name.js'
import {curDir} from './paths.js'
import {type ClaimRef, withClaim} from './receipt.js'

/**
 * renewLease: extend a delivery's lease to now + leaseMs: rename its file into the bucket of
 * the new deadline, with the new "l" field and the same token, so the receipt stays valid.
 * Returns the new deadline and where the file is now (the caller remembers it, to find the
 * file again without a scan).
 *
 * RACE: if the lease already expired and a reclaim moved the file, our rename fails with
 * ENOENT: the lease is lost, NotInFlightError, and the caller must not ack.
 */
export function renewLease(q: QueueDirs, ref: string, leaseMs: number, known?: string, now: number = Date.now()): {leaseUntil: number; path: string} {
  const leaseUntil = now + leaseMs
  const {result} = withClaim(q, ref, known, (c: ClaimRef) => {
    const name = formatName({...c.m, leaseUntil})
    const dir = curDir(q, leaseUntil)
    if (join(dir, name) === c.path) return lstatSync(c.path, {throwIfNoEntry: false}) ? c.path : false // same millisecond
    return moveFile(c.path, dir, name, undefined, q.perms) ? join(dir, name) : false
  })
  return {leaseUntil, path: result}
}
