import {type Backend} from '../backend.js'
import {ConfigError} from '../errors.js'
import {resolveSpoolRoot} from '../spool/layout.js'

export interface OpenOptions {
  /** A spool directory (when no URL is given). */
  spool?: string
  /** Lines for people from the engine (a quarantined file, a server that went away...). */
  onNotice?: (line: string) => void
}

/**
 * Opens the engine a URL names:
 *
 *   file:///var/spool/mq     the spool in that directory (an absolute path)
 *   memory:  memory:NAME     the in-memory reference engine (one process; NAME shares a store)
 *   redis://host:6379/0      a Redis server (rediss:// for TLS); options in src/backends/redis/
 *   postgres://user@host/db  a PostgreSQL database; options in src/backends/postgres/
 *
 * Without a URL, the spool: `opts.spool`, else $MQ_SPOOL, else $XDG_STATE_HOME/mq, else
 * ~/.local/state/mq.
 */
export async function openBackend(url: string | undefined, opts: OpenOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  // Engines are imported when a URL names them, so a command pays only for its own.
  if (url === undefined) {
    const {SpoolBackend} = await import('./spool/index.js')
    return new SpoolBackend(resolveSpoolRoot(opts.spool, env), {onNotice: opts.onNotice})
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`not a URL: ${JSON.stringify(url)} (file:///path/to/spool, memory:)`)
  }
  switch (parsed.protocol) {
    case 'file:': {
      const {SpoolBackend} = await import('./spool/index.js')
      return new SpoolBackend(spoolPath(url, parsed), {onNotice: opts.onNotice})
    }
    case 'memory:': {
      const {MemoryBackend} = await import('./memory/index.js')
      return new MemoryBackend(decodeURIComponent(parsed.pathname))
    }
    case 'redis:':
    case 'rediss:': {
      const {RedisBackend} = await import('./redis/index.js')
      return new RedisBackend(url)
    }
    case 'postgres:':
    case 'postgresql:': {
      const {PostgresBackend} = await import('./postgres/index.js')
      return new PostgresBackend(url)
    }
    default: {
      throw new ConfigError(`unsupported backend URL scheme ${parsed.protocol} (supported: file:, memory:, redis:, rediss:, postgres:)`)
    }
  }
}

/**
 * The spool directory of a file: URL. Only an absolute path: file:///var/spool/mq, or
 * file:/var/spool/mq. file://relative/path (a host named "relative") and file:relative (a
 * relative path, which WHATWG URLs turn into /relative) are configuration errors: they would
 * name a directory other than the one meant.
 */
function spoolPath(url: string, parsed: URL): string {
  if (parsed.host !== '' && parsed.host !== 'localhost')
    throw new ConfigError(`${url}: a file: URL names a path on this host (file:///absolute/path); "${parsed.host}" reads as a host name`)
  if (!/^file:(\/\/(localhost)?)?\//i.test(url)) throw new ConfigError(`${url}: a file: URL needs an absolute path (file:///absolute/path)`)
  return decodeURIComponent(parsed.pathname)
}
