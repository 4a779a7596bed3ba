import {closeSync, openSync, statSync, unlinkSync} from 'node:fs'
import {connect} from 'node:net'

import {type DriverMessage, type Pushed} from '../backend.js'
import {lazy} from '../lazy.js'
import {helperPath, locate, RELAY_MAX_BYTES, type RelayReply, type RelayRequest, type RelayStart, type RelayTarget} from './protocol.js'

let started = false

/** How long a relay's start is waited for before another command may start one. */
const STARTING_MS = 5000

/**
 * A push handed to the relay (./protocol.ts): the relay's reply when it committed the push,
 * else undefined, and the caller pushes itself with the same attempt name (`opts.attempt`, which
 * a relayed push must have: it is what makes that second try store nothing twice). Where no
 * relay answers, one is started for the next command, and this push is not made to wait for it.
 * RACE: a reply lost, late or refused after the relay sent the push on: the caller's own push
 * with the same attempt finds the relay's record (or waits on its attempt lock, then finds it)
 * and answers as the relay's push did; the relay's push arriving after the caller's finds the
 * caller's record and stores nothing.
 */
export async function relayPush(t: RelayTarget, queue: string, messages: DriverMessage[], bodies: Buffer[], opts: {attempt?: string; keyTtlMs?: number}): Promise<Pushed[] | undefined> {
  if (opts.attempt === undefined || bodies.reduce((n, b) => n + b.length, 0) > RELAY_MAX_BYTES) return undefined
  const where = locate(t)
  if (!where) return undefined
  const request: RelayRequest = {
    bodies: bodies.map((b) => b.toString('base64')),
    // Taken before the timer below is set: the relay's deadline falls no later than the moment
    // this command stops waiting.
    deadline: String(process.hrtime.bigint() + BigInt(t.replyTimeoutMs) * 1_000_000n),
    key: where.key,
    messages: messages.map((m) => ({delayMs: m.delayMs, headers: m.headers, key: m.key, priority: m.priority, ttlMs: m.ttlMs})),
    opts,
    queue,
  }
  return new Promise((resolve) => {
    const socket = connect(where.path)
    let text = ''
    const finish = (pushed: Pushed[] | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(pushed)
    }
    const timer = setTimeout(() => finish(undefined), t.replyTimeoutMs)
    socket.once('connect', () => socket.write(JSON.stringify(request) + '\n'))
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // No relay listens there (never started, or gone and its socket left): start one.
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') start(t, where)
      finish(undefined)
    })
    socket.on('data', (chunk) => {
      text += chunk.toString()
      if (text.includes('\n')) finish(committed(text.slice(0, text.indexOf('\n')), messages.length))
    })
    socket.on('close', () => finish(undefined))
  })
}

/** The reply's ids when it says the push of `n` messages committed; anything else is no answer. */
function committed(line: string, n: number): Pushed[] | undefined {
  try {
    const reply = JSON.parse(line) as RelayReply
    if (!('ok' in reply) || !Array.isArray(reply.ok) || !reply.ok.every((p) => typeof p.id === 'string' && (p.state === 'ready' || p.state === 'delayed'))) return undefined
    // A duplicate key answers with its holder alone; otherwise one id per message.
    if (reply.ok.length !== (reply.ok[0]?.duplicate ? 1 : n)) return undefined
    return reply.ok.map((p) => ({id: p.id, state: p.state, ...(p.duplicate ? {duplicate: true} : {})}))
  } catch {
    return undefined
  }
}

/**
 * Starts the relay for the next command (once per process), detached: its own session, no
 * terminal, nothing of ours open. Its configuration, which holds the URL's password, goes to
 * its stdin, never its argv or environment.
 * RACE: the commands of a shell loop that find no relay while one is starting (it listens
 * ~0.1-0.2 s after it was started): the first to create SOCKET.starting starts it, the others
 * see that file and start none; the relay removes it once it listens (or gives up). One left by a
 * relay that died starting is ignored after STARTING_MS.
 */
function start(t: RelayTarget, where: {key: string; path: string}): void {
  if (started) return
  started = true
  const marker = `${where.path}.starting`
  try {
    closeSync(openSync(marker, 'wx', 0o600))
  } catch {
    try {
      if (Date.now() - statSync(marker).mtimeMs < STARTING_MS) return
      unlinkSync(marker)
      closeSync(openSync(marker, 'wx', 0o600))
    } catch {
      return
    }
  }
  try {
    const config: RelayStart = {display: t.display, idleMs: t.idleMs, key: where.key, path: where.path, url: t.url}
    // Not MQ_URL, which may hold the password: the relay's environment is readable longer than ours.
    const env = {...process.env}
    delete env.MQ_URL
    const child = lazy.childProcess().spawn(process.execPath, [helperPath()], {cwd: '/', detached: true, env, stdio: ['pipe', 'ignore', 'ignore']})
    child.on('error', () => {})
    child.stdin!.on('error', () => {})
    child.stdin!.end(JSON.stringify(config))
    child.unref()
  } catch {
    // A relay that cannot start is no relay: every push is the command's own, as before.
  }
}
