import ms from 'ms'

import {UsageError} from './errors.js'

/** The longest duration mq accepts (100 years): deadlines stay far inside what dates and file names hold. */
export const MAX_DURATION_MS = 100 * 365 * 24 * 3600 * 1000
/** The latest time --at accepts: 9999-12-31T23:59:59.999Z. */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/**
 * Durations on the command line: a number with a unit as the `ms` package reads them
 * ("500ms", "30s", "5m", "2h", "1d", "1.5h"); a bare number means seconds, as for sleep(1).
 * From 0 to 100 years (with min, e.g. 1 ms for a lease); anything else is a usage error (64).
 */
export function parseDuration(text: string, flag: string, min = 0): number {
  const t = text.trim()
  const value = /^\d+(\.\d+)?$/.test(t) ? Number(t) * 1000 : ms(t as ms.StringValue)
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

export function formatDuration(msValue: number): string {
  return ms(Math.round(msValue))
}
