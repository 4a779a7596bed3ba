import {lstatSync, mkdirSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/**
 * The push relay: what a one-shot `mq push` to a server engine hands its push to, when one is
 * running, so that it does not open a connection of its own. On PostgreSQL a new connection is
 * most of a cold push (a backend forked and authenticated, its catalog caches and PL/pgSQL
 * loaded, the push function compiled: ~35 ms of the server's work here, against ~2 ms for the
 * push itself on a connection that has done one), and a shell loop of pushes pays it every
 * time. The relay is a process of mq's own (./helper.ts) that keeps one connection and makes
 * the pushes it is handed on it, as the command would have.
 *
 * What it promises, and how:
 * - The same answer as a push of the command's own: the relay calls the same engine's push
 *   with what the command would have passed, and the command prints only a reply that says the
 *   push committed (the relay answers after the commit).
 * - Nothing lost or doubled: the command gives every push an attempt name (src/queue.ts), and
 *   anything but a committed reply (no relay, an error, a lost or late reply, a relay killed
 *   mid-push) makes the command push itself with the same attempt name: the server stores an
 *   attempt once, and answers a second try as it answered the first.
 *   The server keeps an attempt's record for ATTEMPT_TTL_MS (src/policy.ts) only, so a relay
 *   must not make a push its command has given up on: a relay stopped (SIGSTOP, a machine
 *   swapping) with a request in its socket would otherwise push it again once it runs, maybe
 *   after the record is gone. Every request carries its command's deadline, and the relay
 *   starts no push past it (./helper.ts, answer).
 * - Only its user's: its socket is in a directory of the user's own (mode 0700, checked before
 *   every use), named by a hash of everything that decides where a push goes (the URL, the PG*
 *   variables, HOME and USER, and this build of mq); the relay also compares the whole of that
 *   with its own on every request, so a hash that collides is a fall-back, not a wrong database.
 * - Gone when idle: it exits after `relay=` (the URL's option, default 10 s) without a push,
 *   at once when its connection fails, and on SIGTERM. Nothing stays behind but its socket
 *   file's name, unlinked when it exits.
 * - Off with relay=off in the URL, or MQ_RELAY=off in the environment (for a site that wants no
 *   process left behind a command).
 *
 * The wire: one JSON line per request on a Unix socket, one JSON line back (RelayRequest, RelayReply).
 */

/** Where a server engine's push goes through the relay (PostgresBackend.relay). */
export interface RelayTarget {
  /** The engine's URL as the command was given it. */
  url: string
  /** How long the relay stays after its last push. */
  idleMs: number
  /** How long the command waits for the relay's reply before pushing itself. */
  replyTimeoutMs: number
  /** The URL without its password, for the relay's process title. */
  display: string
}

export interface RelayRequest {
  key: string
  queue: string
  messages: Array<{delayMs?: number; headers?: Record<string, string>; key?: string; priority?: number; ttlMs?: number}>
  /** The bodies, base64. */
  bodies: string[]
  opts: {attempt?: string; keyTtlMs?: number}
  /**
   * When the command stops waiting for the reply (and may push itself): the machine's monotonic
   * clock in ns (process.hrtime.bigint(): CLOCK_MONOTONIC, one clock for every process on the
   * machine, never stepped), as a decimal string. The relay starts no push at or past it.
   */
  deadline: string
}

export type RelayReply = {error: string} | {ok: Array<{duplicate?: boolean; id: string; state: 'delayed' | 'ready'}>}

/** The relay's configuration, written to its stdin by the command that starts it (never its argv: ps shows that). */
export interface RelayStart {
  url: string
  key: string
  path: string
  idleMs: number
  display: string
}

/** A larger push goes the command's own way: the relay holds what it is handed in memory twice over. */
export const RELAY_MAX_BYTES = 1024 * 1024

/** The relay's program: dist/relay-helper.cjs (scripts/build-fast.js), beside the fast path's bundles. */
export function helperPath(): string {
  // In a bundle (dist/*.cjs) __dirname is dist/; compiled as a module, this file is dist/relay/protocol.js.
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url))
  return resolve(here, here.endsWith('relay') ? '..' : '.', 'relay-helper.cjs')
}

/**
 * The socket and the key of the relay for this URL and environment, or undefined where there
 * can be none: no relay program (a build without it), or no directory of the user's own to
 * put a socket in ($XDG_RUNTIME_DIR/mq, else $TMPDIR/mq-relay-UID: made 0700, and used only
 * while it is a directory, not a link, of this user's, that nobody else may enter).
 */
export function locate(t: RelayTarget, env: NodeJS.ProcessEnv = process.env): {key: string; path: string} | undefined {
  const uid = process.getuid?.()
  if (uid === undefined) return undefined
  let build: string
  try {
    const helper = helperPath()
    const st = statSync(helper)
    build = `${helper}:${st.size}:${st.mtimeMs}`
  } catch {
    return undefined
  }
  const dir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'mq') : join(env.TMPDIR || '/tmp', `mq-relay-${uid}`)
  try {
    mkdirSync(dir, {mode: 0o700})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined
  }
  try {
    const st = lstatSync(dir)
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return undefined
  } catch {
    return undefined
  }
  const decides = Object.keys(env)
    .filter((k) => k.startsWith('PG') || k === 'HOME' || k === 'USER' || k === 'LOGNAME')
    .sort()
    .map((k) => [k, env[k]])
  const key = JSON.stringify({build, env: decides, idleMs: t.idleMs, url: t.url})
  return {key, path: join(dir, `push-${hash(key)}.sock`)}
}

/** A 53-bit string hash (cyrb53), as 14 hex digits: a name, not a secret (the key itself is compared). */
function hash(s: string): string {
  let h1 = 0xde_ad_be_ef
  let h2 = 0x41_c6_ce_57
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2_654_435_761)
    h2 = Math.imul(h2 ^ c, 1_597_334_677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2_246_822_507) ^ Math.imul(h2 ^ (h2 >>> 13), 3_266_489_909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2_246_822_507) ^ Math.imul(h1 ^ (h1 >>> 13), 3_266_489_909)
  return (4_294_967_296 * (2_097_151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0')
}
