import {type Failure} from '../backend.js'
import {formatDuration} from '../duration.js'

/** How a handler run ended. */
export interface HandlerOutcome {
  /** exit: it exited with `code`; signal: killed by `signal`; timeout: killed by us after --timeout; error: could not start. */
  kind: 'error' | 'exit' | 'signal' | 'timeout'
  code?: number
  signal?: string
  error?: string
  timeoutMs?: number
  stderrTail: string
  durationMs: number
}

export const EXIT_TEMPFAIL = [75, 111] // sysexits EX_TEMPFAIL, qmail's "temporary failure"
export const EXIT_PERMFAIL = [100] // qmail's "permanent failure"

export type Verdict =
  | {action: 'ack'}
  | {action: 'dead'; failure: Failure}
  | {action: 'retry'; delayMs: number; failure: Failure}

export interface RetryPolicy {
  /** The first retry's delay; doubled per attempt up to maxBackoffMs. */
  backoffMs: number
  maxBackoffMs: number
  random?: () => number
}

/**
 * What a handler's ending means for its message (the table in man/mq.1, "consume"):
 *
 *   exit 0             ack
 *   exit 75 or 111     temporary failure: retry after backoff
 *   exit 100           permanent failure: dead-letter now (reason "rejected")
 *   other exit, killed by a signal, timed out, could not start
 *                      failed attempt: retry after backoff
 *
 * A retry is a counted release with the failure: when it was the queue's last allowed
 * delivery, the engine dead-letters the message instead (reason "max_attempts", the queue's
 * policy: src/policy.ts). Temporary failures count as attempts too, so nothing retries forever.
 */
export function decide(outcome: HandlerOutcome, attempt: number, policy: RetryPolicy): Verdict {
  if (outcome.kind === 'exit' && outcome.code === 0) return {action: 'ack'}
  const failure: Failure = {
    lastError: describeOutcome(outcome),
    ...(outcome.stderrTail ? {stderrTail: outcome.stderrTail} : {}),
    ...(outcome.code === undefined ? {} : {exitCode: outcome.code}),
    ...(outcome.signal === undefined ? {} : {signal: outcome.signal}),
  }
  if (outcome.kind === 'exit' && EXIT_PERMFAIL.includes(outcome.code!)) return {action: 'dead', failure}
  return {action: 'retry', delayMs: backoffDelay(attempt, policy), failure}
}

/**
 * Exponential backoff with "equal jitter": the nominal delay is backoffMs * 2^(attempt-1),
 * capped at maxBackoffMs; the actual delay is uniform between half of it and all of it, so
 * workers that failed together do not retry together.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const nominal = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1))
  const r = (policy.random ?? Math.random)()
  return Math.round(nominal / 2 + (nominal / 2) * r)
}

export function describeOutcome(o: HandlerOutcome): string {
  switch (o.kind) {
    case 'exit': {
      if (EXIT_TEMPFAIL.includes(o.code!)) return `temporary failure (exit status ${o.code})`
      if (EXIT_PERMFAIL.includes(o.code!)) return `permanent failure (exit status ${o.code})`
      return `exit status ${o.code}`
    }
    case 'signal': {
      return `killed by ${o.signal}`
    }
    case 'timeout': {
      return `timed out after ${formatDuration(o.timeoutMs ?? 0)}`
    }
    default: {
      return `could not run the handler: ${o.error}`
    }
  }
}
