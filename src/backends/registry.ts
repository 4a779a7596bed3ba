import {type Driver} from '../backend.js'
import {ConfigError} from '../errors.js'

/** What opening an engine may be given besides its URL. */
export interface OpenOptions {
  /** A spool directory (when no URL is given). */
  spool?: string
  /** Lines for people from the engine (a quarantined file, a server that went away...). */
  onNotice?: (line: string) => void
  /**
   * A command line's hot verb (push, pop, ack, nack, consume): an engine may connect through
   * something lighter to load and to run than its full client (Redis and PostgreSQL: lean.ts
   * in their directories). Behaviour is the same either way; the behaviour suite runs on both.
   */
  lean?: boolean
  /**
   * A command line's push (one process, one push): an engine may hand it to a relay that keeps
   * a connection open between commands (PostgreSQL: src/relay/), falling back to its own.
   */
  relay?: boolean
}

/**
 * An engine as the URL layer sees it: the schemes it answers to and how to open one. `open`
 * imports the engine itself, so a command pays only for the engine its URL names (a server's
 * client costs tens of milliseconds to load). Register one with registerEngine; see the
 * README's "Adding an engine".
 */
export interface EngineEntry {
  /** URL schemes with their colon: 'redis:', 'rediss:'. */
  schemes: readonly string[]
  /** How its URL reads, for the message that lists what is supported: 'redis://HOST:6379/0'. */
  example: string
  open(url: string, parsed: URL, opts: OpenOptions): Promise<Driver>
}

const engines = new Map<string, EngineEntry>()

/** Makes an engine openable by its schemes (a later registration of a scheme replaces an earlier one). */
export function registerEngine(entry: EngineEntry): void {
  for (const scheme of entry.schemes) {
    if (!/^[a-z][a-z0-9+.-]*:$/.test(scheme)) throw new Error(`registerEngine: ${JSON.stringify(scheme)} is not a URL scheme with its colon`)
    engines.set(scheme, entry)
  }
}

/** Opens the engine whose scheme the URL has; an unknown scheme is a ConfigError (78) naming the known ones. */
export async function openRegistered(url: string, opts: OpenOptions): Promise<Driver> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`not a URL: ${JSON.stringify(url)} (${[...new Set(engines.values())].map((e) => e.example).join(', ')})`)
  }
  const entry = engines.get(parsed.protocol)
  if (!entry) throw new ConfigError(`unsupported backend URL scheme ${parsed.protocol} (supported: ${[...engines.keys()].join(', ')})`)
  return entry.open(url, parsed, opts)
}
