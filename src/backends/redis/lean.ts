import {connect as netConnect, type Socket} from 'node:net'
import RedisParser from 'redis-parser'

import {SCRIPTS} from './scripts.js'

/**
 * The lean connection: what the command line's hot verbs (push, pop, ack, nack, consume) talk
 * to Redis through, in place of ioredis. Why: ioredis is made for more (reconnection, offline
 * queues, clusters, sentinels, 240 generated command methods); evaluating it costs a cold
 * `mq push` about 70 ms, against well under 1 ms for the round trips themselves, and a worker
 * pays its per-command work on every message (README, Performance). This is a socket, the RESP
 * encoding of a command, and the parser ioredis itself uses (redis-parser), behind the part of
 * ioredis's interface the engine calls: a method per command (`smembers(key)`, `infoBuffer(...)`
 * for raw replies), a method per transition script (`mqPush(base, ...args)`: see call(), no
 * SHA-1 computed here), pipeline(), multi(), duplicate(), quit(), disconnect(), `status` and
 * 'error' events.
 *
 * Its failures read as ioredis's, which RedisConnection.failure() maps to exit statuses: a
 * server's error reply is a ReplyError (the same class); a socket's error is emitted as 'error'
 * (its code, ECONNREFUSED..., is what the user is told) and fails every pending command; a
 * command unanswered within commandTimeout fails with "Command timed out" and ends the
 * connection (a reply arriving later cannot be matched to the wrong command). It never
 * reconnects and never queues for a later connection: RedisConnection makes a new one.
 *
 * Not for: a Redis Cluster (MOVED and ASK are ioredis's). The library, the dashboard and the
 * other commands keep ioredis unless opened with {lean: true}.
 */
export interface LeanOptions {
  commandTimeout?: number
  connectTimeout?: number
  /** The database, selected first on every connection (duplicate()'s too), as ioredis does. */
  db?: number
  host?: string
  password?: string
  port?: number
  tls?: object
  username?: string
}

interface Pending {
  buffers: boolean
  /** An error reply that ends the connection (a refused AUTH). */
  fatal?: (error: Error) => boolean
  reject: (error: Error) => void
  resolve: (reply: unknown) => void
  timer?: NodeJS.Timeout
}

type Command = [name: string, args: unknown[], buffers: boolean]

/** A Buffer reply as ioredis gives it to a command without the Buffer suffix: text. */
function text(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString()
  if (Array.isArray(reply)) return reply.map((r) => text(r))
  return reply
}

/** One command in RESP: an array of bulk strings. */
function encode(name: string, args: unknown[]): Buffer[] {
  const parts: Buffer[] = []
  let head = `*${args.length + 1}\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n`
  for (const arg of args) {
    if (Buffer.isBuffer(arg)) {
      parts.push(Buffer.from(`${head}$${arg.length}\r\n`), arg)
      head = '\r\n'
    } else {
      const s = String(arg)
      head += `$${Buffer.byteLength(s)}\r\n${s}\r\n`
    }
  }
  parts.push(Buffer.from(head))
  return parts
}

/** A method name as a command: `smembersBuffer` is SMEMBERS with raw replies. */
function commandOf(method: string, args: unknown[]): Command {
  const buffers = method.endsWith('Buffer')
  const name = buffers ? method.slice(0, -'Buffer'.length) : method
  const lua = (SCRIPTS as Record<string, string>)[name]
  if (lua !== undefined) return ['EVAL', [lua, 1, ...args], buffers]
  return [name.toUpperCase(), args, buffers]
}

/** The SHA-1 of each script text as the server reported it (SCRIPT LOAD), for EVALSHA. */
const SHAS = new Map<string, string>()

export class LeanRedis {
  status: 'connecting' | 'end' | 'ready' = 'connecting'
  private readonly socket: Socket
  private readonly pending: Pending[] = []
  private readonly listeners: Array<(error: Error) => void> = []
  private readonly parser: RedisParser
  private connectTimer?: NodeJS.Timeout

  constructor(private readonly opts: LeanOptions) {
    const {host = '127.0.0.1', port = 6379} = opts
    this.socket = opts.tls ? process.getBuiltinModule('node:tls').connect({host, port, ...opts.tls}) : netConnect({host, port})
    this.socket.setNoDelay(true)
    if (opts.connectTimeout) {
      this.connectTimer = setTimeout(() => this.fail(Object.assign(new Error('connect ETIMEDOUT'), {code: 'ETIMEDOUT', syscall: 'connect'})), opts.connectTimeout)
    }
    this.socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(this.connectTimer)
      if (this.status === 'connecting') this.status = 'ready'
    })
    this.parser = new RedisParser({
      returnBuffers: true,
      returnError: (error) => this.settle(undefined, error),
      returnFatalError: (error) => this.fail(error),
      returnReply: (reply) => this.settle(reply),
    })
    this.socket.on('data', (chunk) => this.parser.execute(chunk))
    this.socket.on('error', (error) => this.fail(error))
    this.socket.on('close', () => this.fail(new Error('Connection is closed.')))
    // Written before the socket connects, with the commands that follow: no round trip of its
    // own. As ioredis: a password the server refuses ends the connection, failing what follows
    // with the refusal (WRONGPASS...); a password given to a server that needs none is ignored.
    // (Decided as its reply is parsed, before the replies that follow it in the same chunk.)
    if (opts.password !== undefined) {
      const auth = this.send([['AUTH', opts.username === undefined ? [opts.password] : [opts.username, opts.password], false]])[0]
      this.pending.at(-1)!.fatal = (error) => !/no password is set|without any password configured|wrong number of arguments for 'auth'/.test(error.message)
      auth.catch(() => {})
    }
    // The database, sent with the commands that follow it too; one that the server does not
    // have ends the connection with the server's reply ("DB index is out of range").
    if (opts.db) {
      const select = this.send([['SELECT', [opts.db], false]])[0]
      this.pending.at(-1)!.fatal = () => true
      select.catch(() => {})
    }
    // Any other property is a command, or a transition script, of that name.
    return new Proxy(this, {
      get: (target, prop, receiver) => {
        if (typeof prop !== 'string' || prop in target || prop === 'then') return Reflect.get(target, prop, receiver)
        return (...args: unknown[]) => target.call(commandOf(prop, args))
      },
    })
  }

  on(event: string, listener: (error: Error) => void): this {
    if (event === 'error') this.listeners.push(listener)
    return this
  }

  /** Commands sent together, replies in order; exec() gives [error, reply] per command. */
  pipeline(): unknown {
    return this.batch(false)
  }

  /** MULTI ... EXEC; exec() gives [error, reply] per command, or fails as a whole (EXECABORT). */
  multi(): unknown {
    return this.batch(true)
  }

  duplicate(override: Partial<LeanOptions> = {}): LeanRedis {
    return new LeanRedis({...this.opts, ...override})
  }

  /**
   * Ends the connection after what was sent (every reply was awaited, so nothing is cut off),
   * without waiting for the server to close its side: the socket no longer keeps the process.
   */
  async quit(): Promise<'OK'> {
    this.status = 'end'
    this.socket.end()
    this.socket.unref()
    return 'OK'
  }

  disconnect(): void {
    this.status = 'end'
    this.socket.destroy()
  }

  /**
   * One command. A transition script goes as EVAL of its text the first time this process
   * sends it, with SCRIPT LOAD pipelined behind it for its SHA-1 (no hashing here); after that
   * as EVALSHA, and as EVAL again if the server answers NOSCRIPT (restarted, flushed: nothing
   * ran). A worker sends the same few scripts thousands of times. (Inside pipeline() and
   * multi(), always EVAL: one NOSCRIPT there would fail the batch.)
   */
  private async call(command: Command): Promise<unknown> {
    const [name, args, buffers] = command
    if (name !== 'EVAL') return this.send([command])[0]
    const lua = args[0] as string
    const sha = SHAS.get(lua)
    if (sha !== undefined) {
      try {
        return await this.send([['EVALSHA', [sha, ...args.slice(1)], buffers]])[0]
      } catch (error) {
        if (!/^NOSCRIPT/.test((error as Error).message)) throw error
        SHAS.delete(lua)
      }
    }
    const [result, loaded] = this.send([command, ['SCRIPT', ['LOAD', lua], false]])
    loaded.then((s) => SHAS.set(lua, s as string), () => {})
    return result
  }

  private batch(transaction: boolean): unknown {
    const commands: Command[] = []
    const chain: Record<string, unknown> = {
      exec: async () => {
        if (!transaction) return Promise.all(this.send(commands).map((p) => p.then((r) => [null, r], (error: Error) => [error, null])))
        const sent = await Promise.allSettled(this.send([['MULTI', [], false], ...commands, ['EXEC', [], false]]))
        const exec = sent.at(-1)!
        if (exec.status === 'rejected') {
          const previousErrors = sent.slice(0, -1).flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []))
          throw Object.assign(exec.reason as Error, {previousErrors})
        }
        const replies = exec.value as unknown[]
        return replies.map((r, i) => (r instanceof Error ? [r, null] : [null, commands[i][2] ? r : text(r)]))
      },
    }
    const proxy: unknown = new Proxy(chain, {
      get: (target, prop) =>
        typeof prop === 'string' && !(prop in target) && prop !== 'then'
          ? (...args: unknown[]) => {
              commands.push(commandOf(prop, args))
              return proxy
            }
          : Reflect.get(target, prop),
    })
    return proxy
  }

  /** Writes the commands in one write, each reply a promise; a connection that ended fails them. */
  private send(commands: Command[]): Array<Promise<unknown>> {
    return commands.map(([name, args, buffers]) => {
      // A transaction's commands reply raw: exec() turns them to text after EXEC.
      const raw = buffers || name === 'EXEC'
      return new Promise((resolve, reject) => {
        if (this.status === 'end') return reject(new Error('Connection is closed.'))
        const p: Pending = {buffers: raw, reject, resolve}
        if (this.opts.commandTimeout) {
          p.timer = setTimeout(() => {
            reject(new Error('Command timed out'))
            this.fail(new Error('Command timed out'))
          }, this.opts.commandTimeout)
        }
        this.pending.push(p)
        this.socket.cork()
        for (const part of encode(name, args)) this.socket.write(part)
        process.nextTick(() => this.socket.uncork())
      })
    })
  }

  private settle(reply: unknown, error?: Error): void {
    const p = this.pending.shift()
    if (!p) return
    clearTimeout(p.timer)
    if (error && p.fatal?.(error)) this.fail(error)
    if (error) p.reject(error)
    else p.resolve(p.buffers ? reply : text(reply))
  }

  private emit(error: Error): void {
    for (const l of this.listeners) l(error)
  }

  /** The connection is over: every command still waiting fails with the error. */
  private fail(error: Error): void {
    const wasOpen = this.status !== 'end'
    this.status = 'end'
    clearTimeout(this.connectTimer)
    if (wasOpen && error.message !== 'Connection is closed.') this.emit(error)
    this.socket.destroy()
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer)
      p.reject(error)
    }
  }
}
