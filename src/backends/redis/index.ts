import {isIP} from 'node:net'
import type {Redis as RedisClient, RedisOptions} from 'ioredis'

import {
  ALL_CAPABILITIES,
  type Backend,
  type ClaimAttempt,
  type Capabilities,
  type ClaimRequest,
  type DeadReason,
  type Delivery,
  type Failure,
  type GcOptions,
  type MessageInfo,
  type MessageState,
  type PeekRequest,
  type PurgeState,
  type Pushed,
  type PushInput,
  type PushOptions,
  type QueueConfig,
  type QueueConfigPatch,
  type QueueStats,
  type Released,
  type ReleaseOptions,
  type Requeued,
  type Wakeup,
} from '../../backend.js'
import {claimWithWait, MAX_BLOCK_MS} from '../../queue.js'
import {formatDuration} from '../../duration.js'
import {ConfigError, MqError, NoSubscribersError, NoSuchQueueError, NotInFlightError, NotSubscribedError, NotSupportedError, QueueFullError, ReplicationTimeoutError, ServerUnavailableError} from '../../errors.js'
import {lazy, randomBytesFast} from '../../lazy.js'
import {idTime} from '../../message-id.js'
import {DEFAULT_KEY_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS} from '../../policy.js'
import {parseReceipt, pushBodies, retryWhileFull, UrlOptions} from '../common.js'
import {SCRIPTS} from './scripts.js'

/**
 * The Redis engine: every queue in a Redis server (7.0 or later), shared by any number of
 * processes and hosts. Each state transition is one Lua script (./scripts.ts, where the key
 * layout is described), so each is atomic on the server, and time is the server's.
 *
 * URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?OPTIONS], or rediss:// for TLS. Options:
 *   prefix=NAME          the keys' prefix (default "mq"): several independent mq's on one server
 *   replicas=N           a push returns only once N replicas have it (WAIT); else 75
 *   replicas_timeout=D   how long to wait for them (default 1s)
 *   connect_timeout=D    how long to try to connect (default 2s); then 69
 *   command_timeout=D    how long to wait for any answer from a connected server (default 10s);
 *                        then 69 (a server that accepts connections but never answers)
 *
 * Durability is the server's: see man/mq.1, REDIS. `warnings()` says when it keeps nothing.
 */

export const REDIS_CAPABILITIES: Capabilities = {...ALL_CAPABILITIES, keepsDone: false}

/** Messages per push script call (a batch larger than this is several calls, in one pipeline). */
const PUSH_CHUNK = 1000
/** Bytes of bodies per push script call. */
const PUSH_CHUNK_BYTES = 8 << 20

type Reply = Array<Buffer | Reply | number | null>

interface Scripted {
  mqAck(base: string, id: string, tok: string): Promise<string[]>
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

export interface RedisUrl {
  options: RedisOptions
  prefix: string
  replicas: number
  replicasTimeoutMs: number
  /** The URL without its password, for messages. */
  display: string
}

/** Reads a redis:// or rediss:// URL (see above); a mistake is a ConfigError (78). */
export function parseRedisUrl(url: string): RedisUrl {
  const o = new UrlOptions(url)
  const u = o.url
  const prefix = o.take('prefix') ?? 'mq'
  if (!/^[\w.-]{1,64}$/.test(prefix)) throw o.error('prefix= takes 1 to 64 letters, digits, "_", "." or "-"')
  const replicasText = o.take('replicas') ?? '0'
  if (!/^\d{1,3}$/.test(replicasText)) throw o.error('replicas= takes a whole number')
  const replicas = Number(replicasText)
  const replicasTimeoutMs = o.duration('replicas_timeout', 1000)
  const connectTimeout = o.duration('connect_timeout', 2000)
  const commandTimeout = o.duration('command_timeout', 10_000)
  const db = u.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw o.error('the path names a database number (redis://host:6379/0)')
  const unknown = o.rest()
  if (unknown.length > 0) throw o.error(`unknown option ${unknown[0]}= (prefix, replicas, replicas_timeout, connect_timeout, command_timeout)`)
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1'
  const port = u.port === '' ? 6379 : Number(u.port)
  const display = `${u.protocol}//${u.host || host}${u.pathname === '/' ? '' : u.pathname}`
  return {
    display,
    options: {
      commandTimeout,
      connectTimeout,
      db: db === '' ? 0 : Number(db),
      // Fail instead of queueing commands while reconnecting: no command hangs on a dead server.
      enableReadyCheck: false,
      host,
      lazyConnect: false,
      maxRetriesPerRequest: 0,
      port,
      retryStrategy: () => null,
      ...(u.username ? {username: decodeURIComponent(u.username)} : {}),
      ...(u.password ? {password: decodeURIComponent(u.password)} : {}),
      // SNI names a host, never an address (Node warns on one): an address is checked against the certificate's IP names.
      ...(u.protocol === 'rediss:' ? {tls: isIP(host) ? {} : {servername: host}} : {}),
    },
    prefix,
    replicas,
    replicasTimeoutMs,
  }
}

export class RedisBackend implements Backend {
  readonly kind = 'redis'
  readonly capabilities = REDIS_CAPABILITIES
  private readonly cfg: RedisUrl
  private readonly node = randomBytesFast(8).toString('hex')
  private client?: RedisClient & Scripted
  private blocker?: RedisClient
  private lastError?: Error
  private closed = false

  constructor(url: string) {
    this.cfg = parseRedisUrl(url)
  }

  // ---- connection -------------------------------------------------------------------------

  private connecting?: Promise<RedisClient & Scripted>

  /** The connection, made on first use (once, however many calls start together). */
  private redis(): Promise<RedisClient & Scripted> {
    this.connecting ??= this.connect()
    return this.connecting
  }

  private async connect(): Promise<RedisClient & Scripted> {
    const {Redis} = await import('ioredis')
    const client = new Redis(this.cfg.options) as RedisClient & Scripted
    client.on('error', (error: Error) => {
      this.lastError = error
    })
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, {lua, numberOfKeys: 1})
    this.client = client
    // A database the server does not have: ioredis reports its SELECT's failure only as an
    // event and goes on, on database 0. Ask once and wait for the answer (a round trip, for
    // URLs that name a database other than 0 only), so nothing is written to the wrong one.
    const db = this.cfg.options.db ?? 0
    if (db !== 0) {
      try {
        await client.select(db)
      } catch (error) {
        client.disconnect()
        this.connecting = undefined
        if ((error as Error).name === 'ReplyError' && /DB index/i.test((error as Error).message)) {
          throw new ConfigError(`${this.cfg.display}: the server has no database ${db} (see "databases" in its redis.conf)`)
        }
        throw this.failure(error)
      }
    }
    return client
  }

  /** Runs a command, turning a lost or refused connection into ServerUnavailableError (69). */
  private async call<T>(fn: (r: RedisClient & Scripted) => Promise<T>): Promise<T> {
    const r = await this.redis()
    try {
      return await fn(r)
    } catch (error) {
      throw this.failure(error)
    }
  }

  private failure(error: unknown): Error {
    if (error instanceof MqError) return error
    const e = error as Error & {code?: string}
    if (e?.name === 'ReplyError') {
      // The server answered with an error: out of memory, a READONLY replica, wrong password...
      const text = e.message.split('\n')[0]
      return new ServerUnavailableError(this.cfg.display, `the server refused: ${text}`)
    }
    if (/timed out/i.test(e?.message ?? '')) return new ServerUnavailableError(this.cfg.display, `no answer from the server within ${formatDuration(this.cfg.options.commandTimeout ?? 0)} (command_timeout)`)
    const cause = this.lastError as (Error & {code?: string}) | undefined
    const why = cause?.code ?? cause?.message ?? e?.message ?? String(error)
    return new ServerUnavailableError(this.cfg.display, `cannot reach the server (${why})`)
  }

  private base(queue: string): string {
    return `${this.cfg.prefix}:{${queue}}:`
  }

  private get queuesKey(): string {
    return `${this.cfg.prefix}:queues`
  }

  private get topicsKey(): string {
    return `${this.cfg.prefix}:topics`
  }

  private subsKey(topic: string): string {
    return `${this.cfg.prefix}:t:{${topic}}:subs`
  }

  private async existing(queue: string): Promise<void> {
    if (!(await this.call((r) => r.sismember(this.queuesKey, queue)))) throw new NoSuchQueueError(queue)
  }

  // ---- push -------------------------------------------------------------------------------

  async push(queue: string, messages: PushInput[], opts: PushOptions = {}): Promise<Pushed[]> {
    const bodies = await pushBodies(messages)
    return retryWhileFull(opts.waitMs, 50, async () => {
      const pushed = await this.pushNow(queue, messages, bodies, opts)
      await this.replicate(pushed)
      return pushed
    })
  }

  /** With replicas=N: WAIT until N replicas have every write so far (ReplicationTimeoutError). */
  private async replicate(pushed: Pushed[]): Promise<void> {
    const {replicas, replicasTimeoutMs} = this.cfg
    if (replicas <= 0 || pushed.length === 0) return
    const got = await this.call((r) => r.wait(replicas, replicasTimeoutMs))
    if (got < replicas) throw new ReplicationTimeoutError(this.cfg.display, pushed.map((p) => p.id), got, replicas, formatDuration(replicasTimeoutMs))
  }

  private async pushNow(name: string, inputs: PushInput[], bodies: Buffer[], opts: PushOptions): Promise<Pushed[]> {
    const keyTtl = String(opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS)
    const key = inputs[0]?.key ?? ''
    const [isTopic, subs] = await this.call(async (r) => {
      const res = await r.multi().sismember(this.topicsKey, name).smembers(this.subsKey(name)).exec()
      return [res![0][1] === 1, (res![1][1] as string[]).sort()] as const
    })
    const now = Date.now()
    const fields = (input: PushInput, i: number, id: string, topic: string): Array<Buffer | string> => [
      String(input.priority ?? 0),
      String(input.notBefore === undefined ? 0 : input.notBefore - now),
      input.expiresAt === undefined ? '' : String(input.expiresAt - now),
      input.headers === undefined ? '' : JSON.stringify(input.headers),
      bodies[i],
      id,
      topic,
    ]
    if (!isTopic) {
      const out: Pushed[] = []
      // Chunks, all in one round trip. The bound is checked for the whole batch by the first.
      const chunks: number[][] = []
      let cur: number[] = []
      let bytes = 0
      for (let i = 0; i < inputs.length; i++) {
        if (cur.length >= PUSH_CHUNK || (cur.length > 0 && bytes + bodies[i].length > PUSH_CHUNK_BYTES)) {
          chunks.push(cur)
          cur = []
          bytes = 0
        }
        cur.push(i)
        bytes += bodies[i].length
      }
      chunks.push(cur)
      const replies = await this.call(async (r) => {
        // The queue's name joins the list of queues in the same round trip (another slot in a
        // cluster, so not in the script); a push that fails after it leaves an empty queue.
        const p = r.pipeline().sadd(this.queuesKey, name)
        let left = inputs.length
        for (const c of chunks) {
          ;(p as unknown as Scripted).mqPush(this.base(name), this.node, keyTtl, String(left), key, '', key, ...c.flatMap((i) => fields(inputs[i], i, '', '')))
          left -= c.length
        }
        return (await p.exec())!.slice(1)
      })
      for (const [error, reply] of replies) {
        if (error) throw this.failure(error)
        const res = reply as Array<number | string>
        if (res[0] === 'full') throw new QueueFullError(name, Number(res[1]), Number(res[2]))
        if (res[0] === 'dup') return [{duplicate: true, id: String(res[1]), state: 'ready'}]
        for (let j = 1; j < res.length; j += 2) out.push({id: String(res[j]), state: res[j + 1] as 'delayed' | 'ready'})
      }
      return out
    }
    // A topic: check every subscriber's bound, mint the ids (and take the key) on the topic's
    // slot, then give each subscriber its copy with those ids.
    if (subs.length === 0) throw new NoSubscribersError(name)
    await this.call(async (r) => {
      for (const s of subs) {
        const [d, max] = await r.mqRoom(this.base(s))
        if (max >= 0 && d + inputs.length > max) throw new QueueFullError(s, d, max)
      }
    })
    const topicBase = `${this.cfg.prefix}:t:{${name}}:`
    const minted = await this.call((r) => r.mqMint(topicBase, this.node, String(inputs.length), key, keyTtl))
    const duplicate = minted[0] === 'dup'
    const ids = minted.slice(1)
    const marker = key === '' ? '' : `${name}:${key}`
    for (const s of subs) {
      const reply = await this.call((r) => r.mqPush(this.base(s), this.node, keyTtl, String(inputs.length), '', marker, key, ...inputs.flatMap((m, i) => fields(m, i, ids[i], name))))
      if (reply[0] === 'full') throw new QueueFullError(s, Number(reply[1]), Number(reply[2]))
    }
    const delayed = (i: number) => inputs[i].notBefore !== undefined && inputs[i].notBefore! > now
    return ids.map((id, i) => ({id, state: delayed(i) ? 'delayed' : 'ready', ...(duplicate ? {duplicate: true} : {})}))
  }

  // ---- claim and settle -------------------------------------------------------------------

  async claim(queue: string, req: ClaimRequest = {}): Promise<Delivery | null> {
    return claimWithWait(this, queue, req)
  }

  /**
   * One claim attempt (the claim script): a delivery; paused; or empty, with how long until the
   * next delay falls due or lease ends, on the server's clock (the script returns its TIME).
   */
  async tryClaim(queue: string, leaseMs?: number): Promise<ClaimAttempt> {
    const token = lazy.crypto().randomBytes(8).toString('hex')
    const reply = await this.call((r) => r.mqClaimBuffer(this.base(queue), token, leaseMs === undefined ? '' : String(leaseMs)))
    const tag = String(reply[0])
    if (tag === 'ok') return {delivery: delivery(queue, reply, token)}
    if (tag === 'paused') return {paused: true}
    const serverNow = Number(reply[3] ?? 0) // absent: no clock to compare; the loop's cap holds
    let next: number | undefined
    for (const due of [reply[1], reply[2]]) {
      const text = String(due ?? '')
      if (text !== '' && serverNow > 0) next = Math.min(next ?? Number.POSITIVE_INFINITY, Math.max(0, Number(text) - serverNow))
    }
    return next === undefined ? {empty: true} : {empty: true, nextDueInMs: next}
  }

  /**
   * Pushes, releases and resumes LPUSH to the queue's wake list (expiring in 5 s), so nothing
   * needs arming: an entry made before the wait makes BLPOP return at once.
   */
  async watch(queue: string): Promise<Wakeup> {
    return {close: () => {}, wait: (ms, signal) => this.block(queue, ms, signal)}
  }

  private async block(queue: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (!this.blocker) {
      const r = await this.redis()
      this.blocker = r.duplicate({commandTimeout: MAX_BLOCK_MS + (this.cfg.options.commandTimeout ?? 0)})
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

  private settled(queue: string, id: string, reply: Array<number | string>): void {
    if (reply[0] === 'gone') throw NotInFlightError.gone(queue, id)
    if (reply[0] === 'lost') throw NotInFlightError.claimedAgain(queue, id, reply[1])
  }

  async ack(queue: string, receipt: string): Promise<string> {
    const {id, token: tok} = parseReceipt(queue, receipt)
    this.settled(queue, id, await this.call((r) => r.mqAck(this.base(queue), id, tok)))
    return id
  }

  async release(queue: string, receipt: string, opts: ReleaseOptions = {}): Promise<Released> {
    const {id, token: tok} = parseReceipt(queue, receipt)
    const reply = await this.call((r) => r.mqRelease(this.base(queue), id, tok, opts.uncount ? '1' : '', String(opts.delayMs ?? 0), JSON.stringify(opts.failure ?? {})))
    this.settled(queue, id, reply)
    if (reply[0] === 'delayed') return {id, notBefore: Number(reply[1]), state: 'delayed'}
    return {id, state: reply[0] as 'dead' | 'ready'}
  }

  async renew(queue: string, receipt: string, leaseMs?: number): Promise<number> {
    const {id, token: tok} = parseReceipt(queue, receipt)
    const reply = await this.call((r) => r.mqRenew(this.base(queue), id, tok, leaseMs === undefined ? '' : String(leaseMs)))
    this.settled(queue, id, reply)
    return Number(reply[2])
  }

  async deadLetter(queue: string, receipt: string, failure: Failure = {}): Promise<void> {
    const {id, token: tok} = parseReceipt(queue, receipt)
    this.settled(queue, id, await this.call((r) => r.mqDead(this.base(queue), id, tok, JSON.stringify(failure))))
  }

  // ---- inspection -------------------------------------------------------------------------

  async peek(queue: string, req: PeekRequest): Promise<MessageInfo[]> {
    await this.existing(queue)
    if (req.state === 'done') throw new NotSupportedError(this.kind, 'peek --state done (acked messages are deleted; only their count is kept)')
    const reply = await this.call((r) => r.mqPeekBuffer(this.base(queue), req.state, String(req.limit), req.bodies ? '1' : ''))
    return reply.map((m) => info(req.state, m))
  }

  async stats(queue?: string): Promise<QueueStats[]> {
    if (queue !== undefined) await this.existing(queue)
    const names = queue === undefined ? (await this.call((r) => r.smembers(this.queuesKey))).sort() : [queue]
    const replies = await this.call(async (r) => {
      const p = r.pipeline()
      for (const n of names) (p as unknown as Scripted).mqLook(this.base(n))
      return (await p.exec())!
    })
    return names.map((name, i) => {
      const [error, reply] = replies[i]
      if (error) throw this.failure(error)
      const [ready, inflight, delayed, dead, done, oldest, paused, now] = reply as Array<number | string>
      return {
        dead: Number(dead),
        delayed: Number(delayed),
        done: Number(done),
        inflight: Number(inflight),
        oldestReadyAgeMs: oldest === '' ? null : Math.max(0, Number(now) - Number(oldest)),
        paused: paused === '1',
        queue: name,
        ready: Number(ready),
      }
    })
  }

  async exists(queue: string): Promise<boolean> {
    return (await this.call((r) => r.sismember(this.queuesKey, queue))) === 1
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
      if (conf['maxmemory-policy'] && conf['maxmemory-policy'] !== 'noeviction') out.push(`${this.cfg.display}: maxmemory-policy ${conf['maxmemory-policy']}: the server may evict messages when memory runs short (use noeviction)`)
    } catch (error) {
      if (error instanceof ServerUnavailableError && /refused/.test(error.message)) return out
      throw error
    }
    return out
  }

  // ---- administration ---------------------------------------------------------------------

  async getConfig(queue: string): Promise<QueueConfig> {
    await this.existing(queue)
    const [maxDepth, maxAttempts, leaseMs] = await this.call((r) => r.hmget(`${this.base(queue)}meta`, 'maxDepth', 'maxAttempts', 'leaseMs'))
    return {
      leaseMs: leaseMs === null ? DEFAULT_LEASE_MS : Number(leaseMs),
      maxAttempts: maxAttempts === null ? DEFAULT_MAX_ATTEMPTS : Number(maxAttempts),
      ...(maxDepth === null ? {} : {maxDepth: Number(maxDepth)}),
    }
  }

  async setConfig(queue: string, patch: QueueConfigPatch): Promise<QueueConfig> {
    await this.call(async (r) => {
      const m = r.multi().sadd(this.queuesKey, queue)
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) m.hdel(`${this.base(queue)}meta`, k)
        else if (v !== undefined) m.hset(`${this.base(queue)}meta`, k, String(v))
      }
      await m.exec()
    })
    return this.getConfig(queue)
  }

  async pause(queue: string): Promise<void> {
    await this.existing(queue)
    await this.call((r) => r.hset(`${this.base(queue)}meta`, 'paused', '1'))
  }

  async resume(queue: string): Promise<boolean> {
    await this.existing(queue)
    return (await this.call((r) => r.mqResume(this.base(queue)))) === 1
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>> {
    await this.existing(queue)
    const counts: Record<PurgeState, number> = {dead: 0, delayed: 0, done: 0, ready: 0}
    let total = 0
    for (const s of states) {
      for (;;) {
        const n = Number(await this.call((r) => r.mqPurge(this.base(queue), s, '1000')))
        counts[s] += n
        total += n
        if (n > 0) onProgress?.(total)
        if (s === 'done' || n < 1000) break
      }
    }
    return counts
  }

  async requeue(queue: string, ids?: string[]): Promise<Requeued> {
    await this.existing(queue)
    const out: Requeued = {expiryCleared: [], requeued: []}
    if (ids) {
      const [moved, cleared] = await this.call((r) => r.mqRequeue(this.base(queue), '0', ...ids))
      out.requeued.push(...moved)
      out.expiryCleared.push(...cleared)
    } else {
      for (;;) {
        const [moved, cleared] = await this.call((r) => r.mqRequeue(this.base(queue), '1000'))
        out.requeued.push(...moved)
        out.expiryCleared.push(...cleared)
        if (moved.length < 1000) break
      }
    }
    out.requeued.sort()
    out.expiryCleared.sort()
    return out
  }

  /** Acked messages are deleted at ack: there is nothing for gc to remove but expired keys' records. */
  async gc(queue: string, _opts: GcOptions): Promise<{done: number; keys: number}> {
    await this.existing(queue)
    return {done: 0, keys: Number(await this.call((r) => r.mqGc(this.base(queue))))}
  }

  // ---- topics -----------------------------------------------------------------------------

  async subscribe(topic: string, queue: string): Promise<boolean> {
    const res = await this.call(async (r) => (await r.multi().sadd(this.topicsKey, topic).sadd(this.queuesKey, queue).sadd(this.subsKey(topic), queue).exec())!)
    return res[2][1] === 1
  }

  async unsubscribe(topic: string, queue: string): Promise<void> {
    if ((await this.call((r) => r.srem(this.subsKey(topic), queue))) !== 1) throw new NotSubscribedError(topic, queue)
  }

  async subscribers(topic: string): Promise<string[] | undefined> {
    const res = await this.call(async (r) => (await r.multi().sismember(this.topicsKey, topic).smembers(this.subsKey(topic)).exec())!)
    return res[0][1] === 1 ? (res[1][1] as string[]).sort() : undefined
  }

  async topics(): Promise<string[]> {
    return (await this.call((r) => r.smembers(this.topicsKey))).sort()
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

/** A hash's fields (field, value, ... as Buffers) as a map of strings, the body kept as bytes. */
function fieldsOf(list: Reply, from: number): {body?: Buffer; f: Record<string, string>} {
  const f: Record<string, string> = {}
  let body: Buffer | undefined
  for (let i = from; i + 1 < list.length; i += 2) {
    const k = String(list[i])
    if (k === 'b') body = list[i + 1] as Buffer
    else f[k] = String(list[i + 1])
  }
  return {body, f}
}

function meta(f: Record<string, string>) {
  return {
    ...(f.k === undefined ? {} : {key: f.k}),
    ...(f.h === undefined ? {} : {headers: JSON.parse(f.h) as Record<string, string>}),
    ...(f.x === undefined ? {} : {expiresAt: Number(f.x)}),
    ...(f.t === undefined ? {} : {topic: f.t}),
  }
}

function delivery(queue: string, reply: Reply, token: string): Delivery {
  const id = String(reply[1])
  const {body = Buffer.alloc(0), f} = fieldsOf(reply, 5)
  return {
    attempt: Number(reply[2]),
    body,
    enqueuedAt: idTime(id),
    id,
    leaseMs: Number(reply[4]),
    leaseUntil: Number(reply[3]),
    openBody: () => lazy.stream().Readable.from([body]),
    priority: Number(f.p),
    queue,
    receipt: `${id}:${token}`,
    size: body.length,
    ...meta(f),
  }
}

function info(state: MessageState, m: Buffer[]): MessageInfo {
  const id = String(m[0])
  const {body, f} = fieldsOf(m as Reply, 1)
  const reason: DeadReason | undefined =
    f.rr === undefined ? undefined : {...(JSON.parse(f.rf || '{}') as Failure), at: Number(f.ra), attempts: Number(f.rn), reason: f.rr as DeadReason['reason']}
  return {
    attempt: Number(f.a),
    enqueuedAt: idTime(id),
    id,
    priority: Number(f.p),
    size: Number(f.size),
    state,
    ...(body === undefined ? {} : {body}),
    ...(f.nb === undefined ? {} : {notBefore: Number(f.nb)}),
    ...(f.l === undefined ? {} : {leaseUntil: Number(f.l)}),
    ...meta(f),
    ...(reason ? {reason} : {}),
  }
}
