import ms from 'ms'

import {UsageError} from './errors.js'

/**
 * Durations on the command line: a number with a unit as the `ms` package reads them
 * ("500ms", "30s", "5m", "2h", "1d", "1.5h"); a bare number means seconds, as for sleep(1).
 */
export function parseDuration(text: string, flag: string): number {
  const t = text.trim()
  const value = /^\d+(\.\d+)?$/.test(t) ? Number(t) * 1000 : ms(t as ms.StringValue)
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new UsageError(`--${flag}: not a duration: ${JSON.stringify(text)} (examples: 30s, 5m, 2h, 1500ms)`)
  return Math.round(value)
}

/** --at: an ISO 8601 time, or seconds since the epoch prefixed with "@" (as date(1) takes). */
export function parseTime(text: string, flag: string): number {
  const t = text.trim()
  const value = t.startsWith('@') ? Number(t.slice(1)) * 1000 : Date.parse(t)
  if (!Number.isFinite(value)) throw new UsageError(`--${flag}: not a time: ${JSON.stringify(text)} (ISO 8601, or @SECONDS)`)
  return Math.round(value)
}

export function formatDuration(msValue: number): string {
  return ms(Math.round(msValue))
}
