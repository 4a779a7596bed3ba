import {createServer, connect, type Server, type Socket} from 'node:net'
import {unlinkSync} from 'node:fs'

import {type Driver} from '../backend.js'
import '../backends/index.js'
import {openRegistered} from '../backends/registry.js'
import {NoSubscribersError, QueueFullError} from '../errors.js'
import {type RelayReply, type RelayRequest, type RelayStart} from './protocol.js'

/**
 * The relay (./protocol.ts says what it is for and what it promises): started by a command,
 * detached, its configuration on stdin. It opens the engine as a hot verb does (lean), listens
 * on its socket, and makes each push it is handed with the engine's own push, answering after
 * it returns. It exits after idleMs without a request, when a push fails other than by the
 * queue's own refusal (full, a topic without subscribers: the connection is then in doubt, and
 * the command that asked pushes itself), and on SIGTERM or SIGINT.
 */
async function main(): Promise<void> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  const cfg = JSON.parse(Buffer.concat(chunks).toString()) as RelayStart
  process.title = `mq relay ${cfg.display}`
  process.umask(0o077)
  const driver = await openRegistered(cfg.url, {lean: true})
  let busy = 0
  let idle: NodeJS.Timeout | undefined
  let server: Server | undefined
  let ending = false

  const end = async () => {
    if (ending) return
    ending = true
    clearTimeout(idle)
    server?.close()
    await driver.close().catch(() => {})
    process.exit(0)
  }
  const rest = () => {
    clearTimeout(idle)
    if (busy === 0) idle = setTimeout(() => void end(), cfg.idleMs)
  }
  process.on('SIGTERM', () => void end())
  process.on('SIGINT', () => void end())

  const serve = (socket: Socket) => {
    let text = ''
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      text += chunk.toString()
      const nl = text.indexOf('\n')
      if (nl < 0 || ending) return
      const line = text.slice(0, nl)
      text = ''
      busy++
      clearTimeout(idle)
      void answer(driver, cfg, line).then(({fatal, reply}) => {
        busy--
        socket.end(JSON.stringify(reply) + '\n')
        if (fatal) void end()
        else rest()
      })
    })
  }
  server = await listen(cfg.path, serve)
  // Started (or another relay serves): commands may start one again when this one is gone.
  try {
    unlinkSync(`${cfg.path}.starting`)
  } catch {
    // not there: nothing to say
  }
  if (!server) return end()
  rest()
}

/** One request answered; `fatal` when the relay should not take another (its connection is in doubt). */
async function answer(driver: Driver, cfg: RelayStart, line: string): Promise<{fatal: boolean; reply: RelayReply}> {
  let request: RelayRequest
  try {
    request = JSON.parse(line) as RelayRequest
  } catch {
    return {fatal: false, reply: {error: 'not a request'}}
  }
  if (request.key !== cfg.key) return {fatal: false, reply: {error: 'another relay\'s request'}}
  // RACE: a request read after its command stopped waiting (this relay was stopped, or slow to
  // run): that command pushes, or has pushed, with the same attempt itself; a push made now could
  // come after the server forgot that attempt, and store the messages twice. So none is made.
  // What is left: a relay stopped between this check and its statement reaching the server, for
  // the rest of the command's wait and then the attempt's whole lifetime (a minute).
  let late: boolean
  try {
    late = process.hrtime.bigint() >= BigInt(request.deadline)
  } catch {
    return {fatal: false, reply: {error: 'not a request'}}
  }
  if (late) return {fatal: false, reply: {error: 'late: the command has stopped waiting'}}
  try {
    const messages = request.messages.map((m, i) => ({...m, body: Buffer.from(request.bodies[i], 'base64')}))
    const ok = await driver.push(request.queue, messages, request.opts)
    return {fatal: false, reply: {ok}}
  } catch (error) {
    const refusal = error instanceof QueueFullError || error instanceof NoSubscribersError
    return {fatal: !refusal, reply: {error: (error as Error).message}}
  }
}

/**
 * The server listening on `path`, or undefined when another relay already does. RACE: two
 * commands starting relays for one key at once: the second finds the address in use and a
 * relay answering there, and leaves; a socket file whose relay is gone (ECONNREFUSED) is
 * removed and taken.
 */
async function listen(path: string, serve: (s: Socket) => void): Promise<Server | undefined> {
  for (let tries = 0; tries < 2; tries++) {
    const server = createServer(serve)
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve)
      server.listen(path, () => resolve(undefined))
    })
    if (!error) return server
    if (error.code !== 'EADDRINUSE') return undefined
    const live = await new Promise<boolean>((resolve) => {
      const probe = connect(path)
      probe.once('connect', () => {
        probe.destroy()
        resolve(true)
      })
      probe.once('error', () => resolve(false))
    })
    if (live) return undefined
    try {
      unlinkSync(path)
    } catch {
      return undefined
    }
  }
  return undefined
}

main().catch(() => process.exit(0))
