import type {Redis as RedisClient} from 'ioredis'

import {formatDuration} from '../../duration.js'
import {ConfigError, ConnectionLostError, MqError, ServerRefusedError, ServerUnavailableError} from '../../errors.js'
import {EXIT} from '../../exit-codes.js'
import {randomBytesFast} from '../../lazy.js'
import {MAX_BLOCK_MS} from '../../queue.js'
import {type LeanOptions} from './lean.js'
import {type Reply} from './map.js'
import {SCRIPTS} from './scripts.js'
import {parseRedisUrl, type RedisUrl} from './url.js'

/** The scripts as ioredis defines them on a connection (./scripts.ts). */
export interface Scripted {
  mqAck(base: string, id: string, tok: string): Promise<string[]>
  mqAckClaimBuffer(base: string, id: string, tok: string, next: string, lease: string): Promise<[Buffer[], Reply]>
  mqCancel(base: string, ...ids: string[]): Promise<string[]>
  mqDrop(base: string, limit: string): Promise<[number, number]>
  mqFates(base: string, ...ids: string[]): Promise<string[]>
  mqShowBuffer(base: string, id: string, bodies: string): Promise<Buffer[]>
  mqClaimBuffer(base: string, tok: string, lease: string): Promise<Reply>
  mqDead(base: string, id: string, tok: string, failure: string): Promise<string[]>
  mqGc(base: string): Promise<number>
  mqLook(base: string): Promise<Array<number | string>>
  mqMint(base: string, ...args: string[]): Promise<string[]>
  mqPeekBuffer(base: string, state: string, limit: string, bodies: string): Promise<Buffer[][]>
  mqPurge(base: string, state: string, limit: string): Promise<number>
  mqPush(base: string, ...args: Array<Buffer | string>): Promise<Array<number | string>>
  mqRelease(base: string, id: string, tok: string, uncount: string, delay: string, failure: string): Promise<string[]>
  mqRenew(base: string, id: string, tok: string, lease: string): Promise<Array<number | string>>
  mqRequeue(base: string, ...args: string[]): Promise<[string[], string[]]>
  mqResume(base: string): Promise<number>
  mqRoom(base: string): Promise<[number, number]>
}

/**
 * The Redis engine's connections, key names and failures: one command connection (made on first
 * use), one more for blocking waits, a lost or refused connection turned into one line and 69,
 * and the server's durability settings said. The transitions (./index.ts) are built on it.
 */
export abstract class RedisConnection {
  protected readonly cfg: RedisUrl
  protected readonly node = randomBytesFast(8).toString('hex')
  protected client?: RedisClient & Scripted
  protected blocker?: RedisClient
  protected lastError?: Error
  protected closed = false

  /** {lean}: connect through ./lean.ts, not ioredis, unless the URL names a cluster (see there). */
  protected readonly lean: boolean

  constructor(url: string, opts: {lean?: boolean} = {}) {
    this.cfg = parseRedisUrl(url)
    this.lean = Boolean(opts.lean) && !this.cfg.cluster
  }

  // ---- connection -------------------------------------------------------------------------

  protected connecting?: Promise<RedisClient & Scripted>

  /** The connection, made on first use (once, however many calls start together). */
  protected redis(): Promise<RedisClient & Scripted> {
    // Closed is closed: a call that comes late (a timer's) must not open a connection that
    // would keep the process alive.
    if (this.closed) return Promise.reject(new ServerUnavailableError(this.cfg.display, 'the connection was closed'))
    // A connection that was lost is made again (a write whose reply was lost is tried again on it).
    if (this.client?.status === 'end' && !this.closed) {
      this.client = undefined
      this.connecting = undefined
    }
    this.connecting ??= this.connect()
    return this.connecting
  }

  /**
   * A client for one server, or for a Redis Cluster (cluster=1: the URL's host is a seed; the
   * client reads the slot map from it and sends each key's command to its slot's master,
   * following MOVED and ASK). Every key of a queue carries the hash tag {QUEUE}, so each
   * transition script runs on one node; what crosses queues (the lists of queues and topics, a
   * topic's fan-out) is one command per slot, never one script or MULTI across slots.
   */
  private async newClient(): Promise<RedisClient & Scripted> {
    if (this.lean) {
      const {LeanRedis} = await import('./lean.js')
      return new LeanRedis(this.cfg.options as LeanOptions) as unknown as RedisClient & Scripted
    }
    const ioredis = await import('ioredis')
    const client = this.cfg.cluster ? this.newCluster(ioredis) : new ioredis.Redis(this.cfg.options)
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, {lua, numberOfKeys: 1})
    return client as unknown as RedisClient & Scripted
  }

  private newCluster(ioredis: {Cluster: typeof import('ioredis').Cluster}): import('ioredis').Cluster {
    const {host, port, db: _db, retryStrategy: _retry, lazyConnect: _lazy, ...redisOptions} = this.cfg.options
    return new ioredis.Cluster([{host: host!, port: port!}], {
      // As for one server: fail instead of waiting for a cluster that is not there.
      clusterRetryStrategy: () => null,
      enableReadyCheck: true,
      lazyConnect: false,
      redisOptions,
      slotsRefreshTimeout: this.cfg.options.connectTimeout,
    })
  }

  protected async connect(): Promise<RedisClient & Scripted> {
    const client = await this.newClient()
    client.on('error', (error: Error) => {
      this.lastError = error
    })
    this.client = client
    // Two questions in one round trip, answered before anything is written:
    // - a database the server does not have: ioredis reports its SELECT's failure only as an
    //   event and goes on, on database 0; so nothing is written to the wrong one. (The lean
    //   connection selects it itself, and a refusal fails INFO with the same reply.)
    // - an evicting server (maxmemory-policy other than noeviction) drops message bodies,
    //   idempotency keys and push records under memory pressure: refused (78) unless the URL
    //   says eviction=accept. INFO, not CONFIG GET: managed servers often refuse CONFIG.
    const db = this.cfg.options.db ?? 0
    const refuse = (error: Error): never => {
      client.disconnect()
      this.client = undefined
      this.connecting = undefined
      throw error
    }
    const memoryInfo = (c: RedisClient) =>
      c.info('memory').catch((error: Error) => {
        // An ACL that refuses INFO keeps the policy to itself: nothing to check.
        if (error.name === 'ReplyError' && /^NOPERM/.test(error.message)) return ''
        throw error
      })
    try {
      const [, first] = await Promise.all([db === 0 || this.lean ? undefined : client.select(db), memoryInfo(client)])
      // In a cluster, every master's policy: a queue may live on any of them.
      const all = this.cfg.cluster ? await Promise.all((client as unknown as import('ioredis').Cluster).nodes('master').map((n) => memoryInfo(n))) : [first]
      const policy = all.map((m) => /^maxmemory_policy:(\S+)/m.exec(m)?.[1]).find((p) => p !== undefined && p !== 'noeviction') ?? /^maxmemory_policy:(\S+)/m.exec(first)?.[1]
      if (policy !== undefined && policy !== 'noeviction' && !this.cfg.acceptEviction) {
        refuse(new ConfigError(`${this.cfg.display}: the server may evict keys (maxmemory-policy ${policy}), losing messages and idempotency keys: set maxmemory-policy noeviction, or add eviction=accept to the URL to accept the loss`))
      }
    } catch (error) {
      if (error instanceof MqError) throw error
      if ((error as Error).name === 'ReplyError' && /DB index/i.test((error as Error).message)) {
        refuse(new ConfigError(`${this.cfg.display}: the server has no database ${db} (see "databases" in its redis.conf)`))
      }
      refuse(this.failure(error, false))
    }
    return client
  }

  /**
   * Runs a command on a connection that is up, turning a refusal into ServerRefusedError (its
   * class's status) and a lost connection or a missing answer into ConnectionLostError (69):
   * the command may have been sent, and done.
   */
  protected async call<T>(fn: (r: RedisClient & Scripted) => Promise<T>): Promise<T> {
    const r = await this.redis()
    try {
      return await fn(r)
    } catch (error) {
      throw this.failure(error, true)
    }
  }

  /** A client's error as mq's; `sent`: the connection was up when the command went out. */
  protected failure(error: unknown, sent = false): Error {
    if (error instanceof MqError) return error
    const e = error as Error & {code?: string}
    if (e?.name === 'ReplyError') {
      // The server answered with an error: its class decides the status (refusalStatus). A
      // MULTI refused as a whole (EXECABORT) is named by the error of the command that caused it.
      const inner = (e as {previousErrors?: Error[]}).previousErrors?.[0]?.message
      const text = (e.message.startsWith('EXECABORT') ? (inner ?? e.message.replace(/^EXECABORT .*because of: /, '')) : e.message).split('\n')[0]
      return new ServerRefusedError(this.cfg.display, text, refusalStatus(text))
    }
    const Lost = sent ? ConnectionLostError : ServerUnavailableError
    if (/timed out/i.test(e?.message ?? '')) return new Lost(this.cfg.display, `no answer from the server within ${formatDuration(this.cfg.options.commandTimeout ?? 0)} (command_timeout)`)
    const cause = this.lastError as (Error & {code?: string}) | undefined
    const why = cause?.code ?? cause?.message ?? e?.message ?? String(error)
    return sent ? new Lost(this.cfg.display, `the connection was lost (${why})`) : new Lost(this.cfg.display, `cannot reach the server (${why})`)
  }

  protected base(queue: string): string {
    return `${this.cfg.prefix}:{${queue}}:`
  }

  protected get queuesKey(): string {
    return `${this.cfg.prefix}:queues`
  }

  protected get topicsKey(): string {
    return `${this.cfg.prefix}:topics`
  }

  protected subsKey(topic: string): string {
    return `${this.cfg.prefix}:t:{${topic}}:subs`
  }


  protected async block(queue: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (!this.blocker) {
      const r = await this.redis()
      const commandTimeout = MAX_BLOCK_MS + (this.cfg.options.commandTimeout ?? 0)
      this.blocker = this.cfg.cluster
        ? ((r as unknown as import('ioredis').Cluster).duplicate(undefined, {redisOptions: {...(r as unknown as import('ioredis').Cluster).options.redisOptions, commandTimeout}}) as unknown as RedisClient)
        : r.duplicate({commandTimeout})
      this.blocker.on('error', (error: Error) => {
        this.lastError = error
      })
    }
    const b = this.blocker
    const abort = () => {
      // BLPOP cannot be cancelled: drop the connection (a new one is made for the next wait).
      this.blocker = undefined
      b.disconnect()
    }
    if (signal?.aborted) return
    signal?.addEventListener('abort', abort, {once: true})
    try {
      await b.blpop(`${this.base(queue)}wake`, Math.max(0.01, ms / 1000))
    } catch (error) {
      if (signal?.aborted || this.closed) return
      throw this.failure(error)
    } finally {
      signal?.removeEventListener('abort', abort)
    }
  }

  /**
   * What makes a push on this server less durable than it looks: nothing kept on disk, keys
   * evicted under memory pressure. Lines for people; empty when all is well or when the server
   * does not let us ask (CONFIG disabled).
   */
  async warnings(): Promise<string[]> {
    const out: string[] = []
    try {
      const conf = await this.call(async (r) => {
        const res = (await r.multi().config('GET', 'appendonly').config('GET', 'save').config('GET', 'maxmemory-policy').config('GET', 'appendfsync').exec())!
        return Object.fromEntries(res.flatMap(([, v]) => {
          const a = v as string[]
          return a.length >= 2 ? [[a[0], a[1]]] : []
        })) as Record<string, string>
      })
      if (conf.appendonly === 'no' && (conf.save ?? '') === '') out.push(`${this.cfg.display}: the server keeps nothing on disk (appendonly no, no save points): a restart loses every queue`)
      else if (conf.appendonly === 'no') out.push(`${this.cfg.display}: the server only snapshots (appendonly no): a crash loses what was pushed since the last snapshot`)
      else if (conf.appendfsync !== 'always') out.push(`${this.cfg.display}: appendfsync ${conf.appendfsync}: a crash can lose up to a second of acknowledged pushes`)
      if (conf['maxmemory-policy'] && conf['maxmemory-policy'] !== 'noeviction') {
        out.push(`${this.cfg.display}: maxmemory-policy ${conf['maxmemory-policy']}: the server may evict messages when memory runs short (use noeviction)`)
        out.push(...(await this.lostLines()))
      }
    } catch (error) {
      // A server that refuses CONFIG (an ACL, a managed service) keeps its setup to itself.
      if (error instanceof ServerRefusedError) return out
      throw error
    }
    return out
  }

  /** Per queue, the messages a claim found evicted and dropped (meta field lost), as lines. */
  private async lostLines(): Promise<string[]> {
    return this.call(async (r) => {
      const names = (await r.smembers(this.queuesKey)).sort()
      const res = await Promise.all(names.map((n) => r.hget(`${this.base(n)}meta`, 'lost')))
      return names.flatMap((n, i) => {
        const lost = Number(res[i] ?? 0)
        return lost > 0 ? [`${this.cfg.display}: queue ${n}: ${lost} message${lost === 1 ? ' was' : 's were'} evicted by the server and dropped by a claim (lost)`] : []
      })
    })
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.blocker && this.blocker.status !== 'end') this.blocker.disconnect()
    const c = this.client
    this.client = undefined
    this.connecting = undefined
    if (!c) return
    if (c.status === 'ready') {
      try {
        await c.quit()
        return
      } catch {
        // fall through: the connection is gone already
      }
    }
    // Not on a connection that ended (refused, lost): ioredis would arm a 2 s timer waiting for
    // a socket that closed already, and the process would linger after saying so.
    if (c.status !== 'end') c.disconnect()
  }
}

/**
 * The exit status of a Redis error reply, by its prefix: a password or an ACL that refuses
 * (WRONGPASS, NOAUTH, NOPERM) is 77; a replica that takes no writes (READONLY) is 78, the URL
 * names the wrong server; out of memory, too many clients, a server loading its data or a
 * script running too long (OOM, max number of clients, LOADING, BUSY, MASTERDOWN, TRYAGAIN)
 * are 75, worth a retry later; anything else 69.
 */
export function refusalStatus(text: string): typeof EXIT.CONFIG | typeof EXIT.NO_PERM | typeof EXIT.TEMP_FAIL | typeof EXIT.UNAVAILABLE {
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(text) || /invalid (username-password pair|password)/i.test(text)) return EXIT.NO_PERM
  if (/^READONLY\b/.test(text)) return EXIT.CONFIG
  if (/^(OOM|LOADING|BUSY|MASTERDOWN|TRYAGAIN)\b/.test(text) || /max number of clients reached/i.test(text)) return EXIT.TEMP_FAIL
  return EXIT.UNAVAILABLE
}
