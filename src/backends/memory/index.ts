import {
  ALL_CAPABILITIES,
  type Cancelled,
  type Capabilities,
  type ClaimAttempt,
  type Delivery,
  type Driver,
  type DriverMessage,
  type Failure,
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
} from '../../backend.js'
import {randomBytesFast} from '../../lazy.js'
import {NoSubscribersError, NotInFlightError, NotSubscribedError, QueueFullError} from '../../errors.js'
import {DEFAULT_KEY_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, isExhausted, priorityRank} from '../../policy.js'
import {newMessageId} from '../../message-id.js'
import {parseReceipt, pushBodies, wakeupFrom} from '../common.js'
import {delivery, info, kill, type MemQueue, type Msg, PEEK_ORDER, type Store, storeFor, sweep} from './store.js'

/**
 * The reference engine: every queue in this process's memory, nothing on disk. It is small
 * and plainly correct (linear scans, no cleverness), so that it can serve as the executable
 * form of the contract in src/backend.ts: the behaviour suite runs against it as against every
 * engine. It also serves library users' own tests, and programs that want an in-process queue
 * between their own tasks.
 *
 * `memory:NAME` names a store shared by every instance opened with that name in this process
 * (`memory:` alone: a fresh private store). Nothing survives the process, and no other process
 * sees it: `shared` is false, so the command line refuses it (each command is a new process).
 */

export const MEMORY_CAPABILITIES: Capabilities = {...ALL_CAPABILITIES, portableReceipts: false, sharedMessages: false}

export class MemoryBackend implements Driver {
  readonly kind: string = 'memory'
  readonly capabilities = MEMORY_CAPABILITIES
  private readonly store: Store

  constructor(name = '') {
    this.store = storeFor(name)
  }

  private config(q: MemQueue): QueueConfig {
    return {leaseMs: q.config.leaseMs ?? DEFAULT_LEASE_MS, maxAttempts: q.config.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, ...(q.config.maxDepth === undefined ? {} : {maxDepth: q.config.maxDepth})}
  }

  /** The queue's entry, made if need be (the queue layer has checked that it exists where that matters). */
  private entry(name: string): MemQueue {
    return this.store.queue(name, true)!
  }

  async push(queue: string, messages: DriverMessage[], opts: {keyTtlMs?: number} = {}): Promise<Pushed[]> {
    return this.pushNow(queue, messages, await pushBodies(messages), opts)
  }

  private pushNow(name: string, inputs: DriverMessage[], bodies: Buffer[], opts: {keyTtlMs?: number}): Pushed[] {
    const subs = this.store.topics.get(name)
    if (subs && subs.size === 0) throw new NoSubscribersError(name)
    const targets = subs ? [...subs].sort() : [name]
    const now = Date.now()
    const key = inputs[0]?.key
    for (const t of targets) {
      const q = this.store.queue(t, false)
      const max = q?.config.maxDepth
      if (q && max !== undefined) {
        const depth = [...q.messages.values()].filter((m) => m.state === 'ready' || m.state === 'delayed' || m.state === 'inflight').length
        if (depth + inputs.length > max) throw new QueueFullError(t, depth, max)
      }
    }
    if (key !== undefined) {
      const scope = `${subs ? 'topic' : 'queue'}:${name}\u0000${key}`
      const held = this.store.keys.get(scope)
      if (held && held.expiresAt > now) return [{duplicate: true, id: held.id, state: 'ready'}]
    }
    const pushed: Pushed[] = []
    for (const [i, input] of inputs.entries()) {
      const id = newMessageId(now)
      const delayed = input.delayMs !== undefined && input.delayMs > 0
      for (const t of targets) {
        const q = this.store.queue(t, true)!
        q.messages.set(id, {
          attempt: 0,
          body: bodies[i],
          enqueuedAt: now,
          id,
          priority: input.priority ?? 0,
          state: delayed ? 'delayed' : 'ready',
          ...(delayed ? {notBefore: now + input.delayMs!} : {}),
          ...(input.key === undefined ? {} : {key: input.key}),
          ...(input.headers === undefined ? {} : {headers: input.headers}),
          ...(input.ttlMs === undefined ? {} : {expiresAt: now + input.ttlMs}),
          ...(subs ? {topic: name} : {}),
        })
      }
      if (key !== undefined) this.store.keys.set(`${subs ? 'topic' : 'queue'}:${name}\u0000${key}`, {expiresAt: now + (opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS), id})
      pushed.push({id, state: delayed ? 'delayed' : 'ready'})
    }
    this.store.wake()
    return pushed
  }

  private claimNow(name: string, req: {leaseMs?: number}): Delivery | null {
    const q = this.store.queue(name, false)
    if (!q) return null
    const now = Date.now()
    sweep(q, now)
    const config = this.config(q)
    for (;;) {
      const ready = [...q.messages.values()].filter((m) => m.state === 'ready')
      if (ready.length === 0) return null
      // Highest rank first (priority with aging: the age of each priority's oldest message), then oldest id.
      const oldest = new Map<number, number>()
      for (const m of ready) oldest.set(m.priority, Math.min(oldest.get(m.priority) ?? Number.POSITIVE_INFINITY, m.enqueuedAt))
      const rank = (m: Msg) => priorityRank(m.priority, oldest.get(m.priority)!, now)
      ready.sort((a, b) => rank(b) - rank(a) || (a.id < b.id ? -1 : 1))
      const m = ready[0]
      if (isExhausted(m.attempt, config.maxAttempts)) {
        kill(m, {at: now, attempts: m.attempt, lastError: 'its last delivery was not acked', reason: 'max_attempts'})
        continue
      }
      if (m.expiresAt !== undefined && m.expiresAt <= now) {
        kill(m, {at: now, attempts: m.attempt, lastError: 'expired before delivery', reason: 'expired'})
        continue
      }
      m.attempt++
      m.state = 'inflight'
      m.token = randomBytesFast(4).toString('hex')
      const leaseMs = req.leaseMs ?? config.leaseMs
      m.leaseUntil = now + leaseMs
      return delivery(name, m, leaseMs)
    }
  }

  /** One claim attempt (the queue layer's loop waits): a delivery, paused, or empty with the next due time. */
  async tryClaim(queue: string, leaseMs?: number): Promise<ClaimAttempt> {
    const q = this.store.queue(queue, false)
    if (q?.paused) return {paused: true}
    const d = this.claimNow(queue, {leaseMs})
    if (d) return {delivery: d}
    const next = Math.min(...[...(q?.messages.values() ?? [])].map((m) => m.notBefore ?? m.leaseUntil ?? Number.POSITIVE_INFINITY))
    return Number.isFinite(next) ? {empty: true, nextDueInMs: Math.max(0, next - Date.now())} : {empty: true}
  }

  /** A push, a release or a resume anywhere in this store wakes it (the store's waiters). */
  async watch(): Promise<Wakeup> {
    return wakeupFrom((fire) => {
      this.store.waiters.add(fire)
      return () => this.store.waiters.delete(fire)
    })
  }

  /** The delivery a receipt names, if it is in flight now (same message, same token). */
  private held(queue: string, receipt: string): Msg {
    const {id, token} = parseReceipt(queue, receipt)
    const m = this.store.queue(queue, false)?.messages.get(id)
    if (!m || m.state !== 'inflight') throw NotInFlightError.gone(queue, id)
    if (token !== '' && m.token !== token) throw NotInFlightError.claimedAgain(queue, id, m.attempt)
    return m
  }

  async ack(queue: string, receipt: string) {
    const m = this.held(queue, receipt)
    m.state = 'done'
    m.endedAt = Date.now()
    delete m.leaseUntil
    delete m.token
    return m.id
  }

  async release(queue: string, receipt: string, opts: ReleaseOptions = {}): Promise<Released> {
    const m = this.held(queue, receipt)
    const now = Date.now()
    const q = this.entry(queue)
    delete m.leaseUntil
    delete m.token
    if (opts.uncount) m.attempt = Math.max(0, m.attempt - 1)
    else if (isExhausted(m.attempt, this.config(q).maxAttempts)) {
      kill(m, {...opts.failure, at: now, attempts: m.attempt, reason: 'max_attempts'})
      return {id: m.id, state: 'dead'}
    }
    if (opts.failure && Object.keys(opts.failure).length > 0) m.lastFailure = {...opts.failure, at: now}
    const delayMs = opts.delayMs ?? 0
    if (delayMs > 0) {
      m.state = 'delayed'
      m.notBefore = now + delayMs
      this.store.wake()
      return {id: m.id, notBefore: m.notBefore, state: 'delayed'}
    }
    m.state = 'ready'
    this.store.wake()
    return {id: m.id, state: 'ready'}
  }

  async renew(queue: string, receipt: string, leaseMs?: number) {
    const m = this.held(queue, receipt)
    const granted = leaseMs ?? this.config(this.entry(queue)).leaseMs
    m.leaseUntil = Date.now() + granted
    return granted
  }

  async deadLetter(queue: string, receipt: string, failure: Failure = {}) {
    const m = this.held(queue, receipt)
    kill(m, {...failure, at: Date.now(), attempts: m.attempt, reason: 'rejected'})
  }

  async peek(queue: string, req: PeekRequest): Promise<MessageInfo[]> {
    const q = this.entry(queue)
    const now = Date.now()
    sweep(q, now)
    return [...q.messages.values()]
      .filter((m) => m.state === req.state)
      .sort(PEEK_ORDER[req.state])
      .slice(0, req.limit)
      .map((m) => info(m, Boolean(req.bodies)))
  }

  async stats(queue?: string): Promise<QueueStats[]> {
    const names = queue === undefined ? [...this.store.queues.keys()].sort() : [queue]
    const now = Date.now()
    return names.map((name) => {
      const q = this.entry(name)
      sweep(q, now)
      const count = (s: MessageState) => [...q.messages.values()].filter((m) => m.state === s).length
      const ready = [...q.messages.values()].filter((m) => m.state === 'ready')
      const oldest = ready.length ? Math.min(...ready.map((m) => m.enqueuedAt)) : undefined
      return {
        dead: count('dead'),
        delayed: count('delayed'),
        done: count('done'),
        inflight: count('inflight'),
        oldestReadyAgeMs: oldest === undefined ? null : Math.max(0, now - oldest),
        paused: q.paused,
        queue: name,
        ready: ready.length,
      }
    })
  }

  async exists(queue: string) {
    return this.store.queues.has(queue)
  }

  async getConfig(queue: string) {
    return this.config(this.entry(queue))
  }

  async setConfig(queue: string, patch: QueueConfigPatch) {
    const q = this.store.queue(queue, true)!
    for (const [k, v] of Object.entries(patch) as Array<[keyof QueueConfig, null | number | undefined]>) {
      if (v === null) delete q.config[k]
      else if (v !== undefined) q.config[k] = v
    }
    return this.config(q)
  }

  async pause(queue: string) {
    this.entry(queue).paused = true
  }

  async resume(queue: string) {
    const q = this.entry(queue)
    const was = q.paused
    q.paused = false
    this.store.wake()
    return was
  }

  async purge(queue: string, states: PurgeState[]) {
    const q = this.entry(queue)
    const counts: Record<PurgeState, number> = {dead: 0, delayed: 0, done: 0, ready: 0}
    sweep(q, Date.now())
    for (const m of [...q.messages.values()]) {
      if (m.state !== 'inflight' && states.includes(m.state)) {
        q.messages.delete(m.id)
        counts[m.state]++
      }
    }
    return counts
  }

  async requeue(queue: string, ids?: string[]) {
    const q = this.entry(queue)
    const out: Requeued = {expiryCleared: [], requeued: []}
    for (const m of [...q.messages.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (m.state !== 'dead' || (ids && !ids.includes(m.id))) continue
      m.state = 'ready'
      m.attempt = 0
      delete m.reason
      delete m.lastFailure
      if (m.expiresAt !== undefined && m.expiresAt <= Date.now()) {
        delete m.expiresAt // it would only die again at once
        out.expiryCleared.push(m.id)
      }
      out.requeued.push(m.id)
    }
    this.store.wake()
    return out
  }

  async gc(queue: string, opts: GcOptions) {
    const q = this.entry(queue)
    const now = Date.now()
    let done = 0
    for (const m of [...q.messages.values()]) {
      if (m.state === 'done' && now - m.endedAt! >= opts.doneOlderThanMs) {
        q.messages.delete(m.id)
        done++
      }
    }
    let keys = 0
    for (const [k, v] of this.store.keys) {
      if (k.startsWith(`queue:${queue}\u0000`) && v.expiresAt <= now) {
        this.store.keys.delete(k)
        keys++
      }
    }
    return {done, keys}
  }

  async show(queue: string, id: string, opts: {body?: boolean} = {}): Promise<MessageInfo | undefined> {
    const q = this.entry(queue)
    sweep(q, Date.now())
    const m = q.messages.get(id)
    return m && info(m, Boolean(opts.body))
  }

  async cancel(queue: string, ids: string[]): Promise<Cancelled> {
    const q = this.entry(queue)
    sweep(q, Date.now())
    const out: Cancelled = {cancelled: [], refused: [], unknown: []}
    for (const id of ids) {
      const m = q.messages.get(id)
      if (!m) out.unknown.push(id)
      else if (m.state === 'ready' || m.state === 'delayed') {
        q.messages.delete(id)
        out.cancelled.push(id)
      } else out.refused.push({id, state: m.state})
    }
    return out
  }

  async drop(queue: string): Promise<number> {
    const n = this.entry(queue).messages.size
    this.store.queues.delete(queue)
    for (const k of [...this.store.keys.keys()]) if (k.startsWith(`queue:${queue}\u0000`)) this.store.keys.delete(k)
    for (const subs of this.store.topics.values()) subs.delete(queue)
    return n
  }

  async subscribe(topic: string, queue: string) {
    this.store.queue(queue, true)
    let subs = this.store.topics.get(topic)
    if (!subs) {
      subs = new Set()
      this.store.topics.set(topic, subs)
    }
    const was = subs.has(queue)
    subs.add(queue)
    return !was
  }

  async unsubscribe(topic: string, queue: string) {
    if (!this.store.topics.get(topic)?.delete(queue)) throw new NotSubscribedError(topic, queue)
  }

  async subscribers(topic: string) {
    const subs = this.store.topics.get(topic)
    return subs && [...subs].sort()
  }

  async topics() {
    return [...this.store.topics.keys()].sort()
  }

  async close() {}
}

