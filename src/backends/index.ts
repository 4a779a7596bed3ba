import {type Backend} from '../backend.js'
import {ConfigError} from '../errors.js'
import {resolveSpoolRoot} from '../spool/layout.js'
import {SpoolBackend} from './spool-backend.js'

/**
 * Picks a backend from --url / $MQ_URL, else the spool from --spool / $MQ_SPOOL / the default.
 * URLs: `file:///path/to/spool` (the spool). Other schemes are reserved for distributed
 * backends (redis:// is planned, see README "Not built yet").
 */
export function openBackend(opts: {spool?: string; url?: string}, env: NodeJS.ProcessEnv = process.env): Backend {
  const url = opts.url ?? (opts.spool ? undefined : env.MQ_URL)
  if (url) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new ConfigError(`not a URL: ${JSON.stringify(url)}`)
    }
    if (parsed.protocol === 'file:') return new SpoolBackend(decodeURIComponent(parsed.pathname))
    throw new ConfigError(`unsupported backend URL scheme ${parsed.protocol} (supported: file:)`)
  }
  return new SpoolBackend(resolveSpoolRoot(opts.spool, env))
}
