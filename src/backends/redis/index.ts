import {
  ALL_CAPABILITIES,
  type Cancelled,
  type ClaimAttempt,
  type Capabilities,
  type Driver,
  type DriverMessage,
  type Failure,
  type Fate,
  type GcOptions,
  type MessageInfo,
  type MessageState,
  type PeekRequest,
  type PurgeState,
  type Pushed,
  type QueueConfig,
  type QueueConfigPatch,
  type QueueStats,
  type Released,
  type ReleaseOptions,
  type Requeued,
  type Wakeup,
  cancelledFrom,
} from '../../backend.js'
import {formatDuration} from '../../duration.js'
import {NoSubscribersError, NotInFlightError, NotSubscribedError, QueueFullError, ReplicationTimeoutError} from '../../errors.js'
import {randomHex} from '../../lazy.js'
import {DEFAULT_KEY_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS} from '../../policy.js'
import {parseReceipt, pushBodies} from '../common.js'
import {RedisConnection, type Scripted} from './connection.js'
import {delivery, info, type Reply} from './map.js'

export {parseRedisUrl, type RedisUrl} from './url.js'

/**
 * The Redis engine: every queue in a Redis server (7.0 or later), shared by any number of
 * processes and hosts. Each state transition is one Lua script (./lua/, ./scripts.ts, where the
 * key layout is described), so each is atomic on the server, and time is the server's. The
 * connection and its failures are ./connection.ts, the URL ./url.ts, replies to values ./map.ts.
 *
 * URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?OPTIONS], or rediss:// for TLS. Options:
 *   prefix=NAME          the keys' prefix (default "mq"): several independent mq's on one server
 *   cluster=1            the host is a seed node of a Redis Cluster (connection.ts, newClient)
 *   eviction=accept      use a server whose maxmemory-policy may evict keys (refused, 78, without)
 *   max_body=SIZE        the largest body taken (default 32MiB, at most 512MiB); else 65
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



export class RedisBackend extends RedisConnection implements Driver {
  readonly kind = 'redis'
  readonly capabilities = REDIS_CAPABILITIES
  readonly idempotentPush = true
  get maxBodyBytes(): number {
    return this.cfg.maxBodyBytes
  }

  // ---- push -------------------------------------------------------------------------------

  async push(queue: string, messages: DriverMessage[], opts: {attempt?: string; keyTtlMs?: number} = {}): Promise<Pushed[]> {
    const pushed = await this.pushNow(queue, messages, await pushBodies(messages), opts)
    await this.replicate(pushed)
    return pushed
  }

  /** With replicas=N: WAIT until N replicas have every write so far (ReplicationTimeoutError). */
  private async replicate(pushed: Pushed[]): Promise<void> {
    const {replicas, replicasTimeoutMs} = this.cfg
    if (replicas <= 0 || pushed.length === 0) return
    const got = await this.call((r) => r.wait(replicas, replicasTimeoutMs))
    if (got < replicas) throw new ReplicationTimeoutError(this.cfg.display, pushed.map((p) => p.id), got, replicas, formatDuration(replicasTimeoutMs))
  }

  private async pushNow(name: string, inputs: DriverMessage[], bodies: Buffer[], opts: {attempt?: string; keyTtlMs?: number}): Promise<Pushed[]> {
    const keyTtl = String(opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS)
    const attempt = opts.attempt ?? ''
    const key = inputs[0]?.key ?? ''
    // Two keys in two slots (a cluster): two commands, sent together.
    const [isTopic, subs] = await this.call(async (r) => {
      const [member, members] = await Promise.all([r.sismember(this.topicsKey, name), r.smembers(this.subsKey(name))])
      return [member === 1, members.sort()] as const
    })
    const fields = (input: DriverMessage, i: number, id: string, topic: string): Array<Buffer | string> => [
      String(input.priority ?? 0),
      String(input.delayMs ?? 0),
      input.ttlMs === undefined ? '' : String(input.ttlMs),
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
        // The queue's name joins the list of queues, sent with the push (another slot in a
        // cluster, so neither in the script nor in its pipeline); a push that fails after it
        // leaves an empty queue.
        const listed = r.sadd(this.queuesKey, name)
        const p = r.pipeline()
        let left = inputs.length
        for (const [n, c] of chunks.entries()) {
          const chunkAttempt = attempt === '' ? '' : `${attempt}.${n}`
          ;(p as unknown as Scripted).mqPush(this.base(name), this.node, keyTtl, String(left), key, '', key, chunkAttempt, ...c.flatMap((i) => fields(inputs[i], i, '', '')))
          left -= c.length
        }
        const [res] = await Promise.all([p.exec(), listed])
        return res!
      })
      for (const [error, reply] of replies) {
        if (error) throw this.failure(error, true)
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
    const minted = await this.call((r) => r.mqMint(topicBase, this.node, String(inputs.length), key, keyTtl, attempt))
    const duplicate = minted[0] === 'dup'
    const ids = minted.slice(1)
    const marker = key === '' ? '' : `${name}:${key}`
    for (const s of subs) {
      const reply = await this.call((r) => r.mqPush(this.base(s), this.node, keyTtl, String(inputs.length), '', marker, key, attempt, ...inputs.flatMap((m, i) => fields(m, i, ids[i], name))))
      if (reply[0] === 'full') throw new QueueFullError(s, Number(reply[1]), Number(reply[2]))
    }
    const delayed = (i: number) => (inputs[i].delayMs ?? 0) > 0
    return ids.map((id, i) => ({id, state: delayed(i) ? 'delayed' : 'ready', ...(duplicate ? {duplicate: true} : {})}))
  }

  // ---- claim and settle -------------------------------------------------------------------

  /**
   * One claim attempt (the claim script): a delivery; paused; or empty, with how long until the
   * next delay falls due or lease ends, on the server's clock (the script returns its TIME).
   */
  async tryClaim(queue: string, leaseMs?: number): Promise<ClaimAttempt> {
    const token = randomHex(8)
    const reply = await this.call((r) => r.mqClaimBuffer(this.base(queue), token, leaseMs === undefined ? '' : String(leaseMs)))
    return this.attempt(queue, reply, token)
  }

  /**
   * An ack and the next claim in one round trip (the ack-claim script, as BullMQ's
   * moveToFinished): the claim is made only when the ack succeeded.
   */
  async ackAndClaim(queue: string, receipt: string, leaseMs?: number): Promise<{id: string; next: ClaimAttempt}> {
    const {id, token: tok} = parseReceipt(queue, receipt)
    const token = randomHex(8)
    const [acked, claimed] = await this.call((r) => r.mqAckClaimBuffer(this.base(queue), id, tok, token, leaseMs === undefined ? '' : String(leaseMs)))
    this.settled(queue, id, acked.map((v) => (typeof v === 'number' ? v : String(v))))
    return {id, next: this.attempt(queue, claimed, token)}
  }

  /** A claim script's reply as a ClaimAttempt. */
  private attempt(queue: string, reply: Reply, token: string): ClaimAttempt {
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
    const reply = await this.call((r) => r.mqPeekBuffer(this.base(queue), req.state, String(req.limit), req.bodies ? '1' : ''))
    return reply.map((m) => info(req.state, m))
  }

  async stats(queue?: string): Promise<QueueStats[]> {
    const names = queue === undefined ? (await this.call((r) => r.smembers(this.queuesKey))).sort() : [queue]
    // One script per queue, all sent at once (each queue in its own slot in a cluster).
    const replies = await this.call((r) => Promise.all(names.map((n) => r.mqLook(this.base(n)))))
    return names.map((name, i) => {
      const reply = replies[i]
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

  // ---- administration ---------------------------------------------------------------------

  async getConfig(queue: string): Promise<QueueConfig> {
    const [maxDepth, maxAttempts, leaseMs] = await this.call((r) => r.hmget(`${this.base(queue)}meta`, 'maxDepth', 'maxAttempts', 'leaseMs'))
    return {
      leaseMs: leaseMs === null ? DEFAULT_LEASE_MS : Number(leaseMs),
      maxAttempts: maxAttempts === null ? DEFAULT_MAX_ATTEMPTS : Number(maxAttempts),
      ...(maxDepth === null ? {} : {maxDepth: Number(maxDepth)}),
    }
  }

  async setConfig(queue: string, patch: QueueConfigPatch): Promise<QueueConfig> {
    await this.call(async (r) => {
      await r.sadd(this.queuesKey, queue)
      const m = r.multi()
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) m.hdel(`${this.base(queue)}meta`, k)
        else if (v !== undefined) m.hset(`${this.base(queue)}meta`, k, String(v))
      }
      await m.exec()
    })
    return this.getConfig(queue)
  }

  async pause(queue: string): Promise<void> {
    await this.call((r) => r.hset(`${this.base(queue)}meta`, 'paused', '1'))
  }

  async resume(queue: string): Promise<boolean> {
    return (await this.call((r) => r.mqResume(this.base(queue)))) === 1
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>> {
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
    return {done: 0, keys: Number(await this.call((r) => r.mqGc(this.base(queue))))}
  }

  /** An acked message's hash is gone: show knows only that it was acked (among the last ACKED_KEPT), and says so by returning nothing. */
  async show(queue: string, id: string, opts: {body?: boolean} = {}): Promise<MessageInfo | undefined> {
    const reply = await this.call((r) => r.mqShowBuffer(this.base(queue), id, opts.body ? '1' : ''))
    if (reply.length === 0 || String(reply[0]) === 'done') return undefined
    return info(String(reply[0]) as MessageState, reply.slice(1))
  }

  async fates(queue: string, ids: string[]): Promise<Fate[]> {
    return (await this.call((r) => r.mqFates(this.base(queue), ...ids))) as Fate[]
  }

  async cancel(queue: string, ids: string[]): Promise<Cancelled> {
    const reply = await this.call((r) => r.mqCancel(this.base(queue), ...ids))
    return cancelledFrom(ids.map((id, i) => [reply[2 * i], reply[2 * i + 1]]))
  }

  async drop(queue: string): Promise<number> {
    let n = 0
    for (;;) {
      const [removed, more] = await this.call((r) => r.mqDrop(this.base(queue), '1000'))
      n += Number(removed)
      if (Number(more) === 0) break
    }
    const topics = await this.call((r) => r.smembers(this.topicsKey))
    await this.call(async (r) => {
      for (const t of topics) await r.srem(this.subsKey(t), queue)
      await r.srem(this.queuesKey, queue)
    })
    return n
  }

  // ---- topics -----------------------------------------------------------------------------

  /**
   * Three sets in three slots (a cluster): the queue is listed, then subscribed, then the name
   * marked a topic. RACE: a push to the topic sees it a topic only once it has this subscriber;
   * a crash in between leaves the queue listed, or a topic without this subscriber.
   */
  async subscribe(topic: string, queue: string): Promise<boolean> {
    return this.call(async (r) => {
      await r.sadd(this.queuesKey, queue)
      const added = await r.sadd(this.subsKey(topic), queue)
      await r.sadd(this.topicsKey, topic)
      return added === 1
    })
  }

  async unsubscribe(topic: string, queue: string): Promise<void> {
    if ((await this.call((r) => r.srem(this.subsKey(topic), queue))) !== 1) throw new NotSubscribedError(topic, queue)
  }

  async subscribers(topic: string): Promise<string[] | undefined> {
    const [member, members] = await this.call((r) => Promise.all([r.sismember(this.topicsKey, topic), r.smembers(this.subsKey(topic))]))
    return member === 1 ? members.sort() : undefined
  }

  async topics(): Promise<string[]> {
    return (await this.call((r) => r.smembers(this.topicsKey))).sort()
  }

}
