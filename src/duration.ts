import ms from 'ms'

import {UsageError} from './errors.js'

/** The longest duration mq accepts (100 years): deadlines stay far inside what dates and file names hold. */
export const MAX_DURATION_MS = 100 * 365 * 24 * 3600 * 1000
/** The latest time --at accepts: 9999-12-31T23:59:59.999Z. */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

const UNIT_MS: Record<string, number> = {d: 86_400_000, h: 3_600_000, m: 60_000, ms: 1, s: 1000, w: 604_800_000}
const COMPOUND = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/

/**
 * Durations on the command line: a number with a unit ("500ms", "30s", "5m", "2h", "1d", "1w",
 * "1.5h"), several of them run together ("5m30s", "1h30m"), a unit spelled out as the `ms`
 * package reads it ("10 minutes"); a bare number means seconds, as for sleep(1).
 * From 0 to 100 years (with min, e.g. 1 ms for a lease); anything else is a usage error (64).
 */
export function parseDuration(text: string, flag: string, min = 0): number {
  const t = text.trim()
  if (t === '') throw new UsageError(`--${flag}: empty duration (an unset variable?)`)
  const value = /^\d+(\.\d+)?$/.test(t)
    ? Number(t) * 1000
    : COMPOUND.test(t)
      ? [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit], 0)
      : t.length <= 100 && ms(t as ms.StringValue) // ms throws on strings it will not read (empty, over 100 characters)
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new UsageError(`--${flag}: not a duration: ${JSON.stringify(text)} (examples: 30s, 5m, 2h, 1500ms)`)
  if (value > MAX_DURATION_MS) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is longer than the longest duration mq accepts (100 years)`)
  if (Math.round(value) < min) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is too short (at least ${formatDuration(min)})`)
  return Math.round(value)
}

/**
 * --at: an ISO 8601 time, or seconds since the epoch prefixed with "@" (as date(1) takes),
 * from 1970 to the end of year 9999.
 */
export function parseTime(text: string, flag: string): number {
  const t = text.trim()
  const value = t.startsWith('@') ? Number(t.slice(1)) * 1000 : Date.parse(t)
  if (!Number.isFinite(value)) throw new UsageError(`--${flag}: not a time: ${JSON.stringify(text)} (ISO 8601, or @SECONDS)`)
  if (value < 0 || value > MAX_TIME_MS) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is outside the times mq accepts (1970 to 9999)`)
  return Math.round(value)
}

/**
 * A duration as a person would type it, exactly: 30000 is "30s", 330000 "5m30s", 1500 "1s500ms"
 * (what --lease, --timeout, --grace... were given, echoed back in messages and settings).
 */
export function formatDuration(msValue: number): string {
  let rest = Math.round(msValue)
  if (rest <= 0) return '0s'
  let out = ''
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const n = Math.floor(rest / UNIT_MS[unit])
    if (n > 0) out += `${n}${unit}`
    rest -= n * UNIT_MS[unit]
  }
  return out
}

/** An age or a wait, rounded to its largest unit ("3m", "2h"): for tables and status lines. */
export function formatAge(msValue: number): string {
  return ms(Math.round(msValue))
}
