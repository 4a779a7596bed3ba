import {type Failure, type Released} from '../backend.js'
import {isExhausted} from '../policy.js'
import {deadLetter} from './dead-letter.js'
import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName, readyName} from './message-name.js'
import {delayDir, readyDir} from './paths.js'
import {type ClaimRef, withClaim} from './receipt.js'

export interface ReleaseOptions {
  delayMs?: number
  /** The delivery does not count (lowered by one again); never dead-letters. */
  uncount?: boolean
  failure?: Failure
  /** The queue's max attempts (src/policy.ts isExhausted decides). */
  maxAttempts: number
  now?: number
  known?: string
}

/**
 * releaseMessage (nack): give a delivery back. One rename: from cur/ to new/P/B7/B10/NAME
 * (ready at once, in its original place by enqueue time), or to delay/B7/B10/NAME with "n" set
 * when delayMs > 0. The delivery count is kept (it was raised when claimed), so the next claim
 * counts on; with uncount it is lowered by one again (a delivery that ended through no fault of
 * the message: its consumer shutting down).
 *
 * The queue's policy: a counted release of the last allowed delivery (isExhausted) dead-letters
 * the message (reason max_attempts, with the failure given) instead of giving it back.
 *
 * RACE: as for ack: if a reclaim or an ack moved the file first, ENOENT becomes
 * NotInFlightError and nothing changes.
 */
export function releaseMessage(q: QueueDirs, ref: string, opts: ReleaseOptions): Released {
  const now = opts.now ?? Date.now()
  const delayMs = opts.delayMs ?? 0
  const {result} = withClaim(q, ref, opts.known, (c: ClaimRef): Released | false => {
    const m = c.m
    if (!opts.uncount && isExhausted(m.attempt, opts.maxAttempts)) {
      const moved = deadLetter(q, c.path, m, {...opts.failure, at: now, attempts: m.attempt, reason: 'max_attempts'})
      return moved ? {id: m.id, state: 'dead'} : false
    }
    const ready = readyName(opts.uncount ? {...m, attempt: Math.max(0, m.attempt - 1)} : m)
    if (delayMs > 0) {
      const notBefore = now + delayMs
      return moveFile(c.path, delayDir(q, notBefore), formatName({...ready, notBefore}), undefined, q.perms) ? {id: m.id, notBefore, state: 'delayed'} : false
    }
    return moveFile(c.path, readyDir(q, ready), formatName(ready), undefined, q.perms) ? {id: m.id, state: 'ready'} : false
  })
  return result
}
