import {type DeadReason, type Delivery, type Failure, type MessageInfo, type MessageState} from '../../backend.js'
import {lazy} from '../../lazy.js'

/**
 * The memory engine's store: queues, topics and keys as plain maps, and the waiters a push,
 * release or resume wakes. `memory:NAME` shares one store per NAME in this process.
 */

export interface Msg {
  id: string
  body: Buffer
  priority: number
  attempt: number
  state: MessageState
  enqueuedAt: number
  notBefore?: number
  leaseUntil?: number
  token?: string
  key?: string
  headers?: Record<string, string>
  expiresAt?: number
  topic?: string
  reason?: DeadReason
  lastFailure?: Failure & {at: number}
  /** When it was acked (done) or dead-lettered. */
  endedAt?: number
}

export interface MemQueue {
  messages: Map<string, Msg>
  config: {maxDepth?: number; maxAttempts?: number; leaseMs?: number}
  paused: boolean
}

export class Store {
  readonly queues = new Map<string, MemQueue>()
  readonly topics = new Map<string, Set<string>>()
  /** scope ("queue:NAME" or "topic:NAME") + key -> holder */
  readonly keys = new Map<string, {expiresAt: number; id: string}>()
  /** Waiting claims, woken by every push, release, resume. */
  readonly waiters = new Set<() => void>()

  queue(name: string, create: boolean): MemQueue | undefined {
    let q = this.queues.get(name)
    if (!q && create) {
      q = {config: {}, messages: new Map(), paused: false}
      this.queues.set(name, q)
    }
    return q
  }

  wake(): void {
    for (const w of [...this.waiters]) w()
  }
}

const stores = new Map<string, Store>()

/** The store for `memory:NAME` (created on first use; `memory:` alone is private). */
export function storeFor(name: string): Store {
  if (name === '') return new Store()
  let s = stores.get(name)
  if (!s) {
    s = new Store()
    stores.set(name, s)
  }
  return s
}

/** Expired leases back to ready, due delays to ready (no daemon: claims, peeks and stats call it). */
export function sweep(q: MemQueue, now: number): void {
  for (const m of q.messages.values()) {
    if (m.state === 'inflight' && m.leaseUntil! <= now) {
      m.state = 'ready'
      delete m.leaseUntil
      delete m.token
    } else if (m.state === 'delayed' && m.notBefore! <= now) {
      m.state = 'ready'
      delete m.notBefore
    }
  }
}


/** m dead-lettered, with why. */
export function kill(m: Msg, reason: DeadReason): void {
  m.state = 'dead'
  m.reason = reason
  m.endedAt = reason.at
  delete m.leaseUntil
  delete m.token
}

/** A delivery of m (its receipt ID:TOKEN), with the lease it was granted. */
export function delivery(queue: string, m: Msg, leaseMs: number): Delivery {
  return {
    leaseMs,
    attempt: m.attempt,
    body: m.body,
    enqueuedAt: m.enqueuedAt,
    id: m.id,
    leaseUntil: m.leaseUntil!,
    openBody: () => lazy.stream().Readable.from([m.body]),
    priority: m.priority,
    queue,
    receipt: `${m.id}:${m.token}`,
    size: m.body.length,
    ...(m.key === undefined ? {} : {key: m.key}),
    ...(m.headers === undefined ? {} : {headers: m.headers}),
    ...(m.expiresAt === undefined ? {} : {expiresAt: m.expiresAt}),
    ...(m.topic === undefined ? {} : {topic: m.topic}),
  }
}


/** What peek shows of m. */
export function info(m: Msg, bodies: boolean): MessageInfo {
  return {
    attempt: m.attempt,
    enqueuedAt: m.enqueuedAt,
    id: m.id,
    priority: m.priority,
    size: m.body.length,
    state: m.state,
    ...(bodies ? {body: m.body} : {}),
    ...(m.notBefore === undefined ? {} : {notBefore: m.notBefore}),
    ...(m.leaseUntil === undefined ? {} : {leaseUntil: m.leaseUntil}),
    ...(m.key === undefined ? {} : {key: m.key}),
    ...(m.headers === undefined ? {} : {headers: m.headers}),
    ...(m.expiresAt === undefined ? {} : {expiresAt: m.expiresAt}),
    ...(m.topic === undefined ? {} : {topic: m.topic}),
    ...(m.reason === undefined ? {} : {reason: m.reason}),
    ...(m.lastFailure === undefined || m.state === 'dead' || m.state === 'done' ? {} : {lastFailure: m.lastFailure}),
  }
}

/** The order peek lists a state in: the order it would be delivered or was settled. */
export const PEEK_ORDER: Record<MessageState, (a: Msg, b: Msg) => number> = {
  dead: (a, b) => (a.id < b.id ? -1 : 1),
  delayed: (a, b) => a.notBefore! - b.notBefore! || (a.id < b.id ? -1 : 1),
  done: (a, b) => (a.id < b.id ? -1 : 1),
  inflight: (a, b) => a.leaseUntil! - b.leaseUntil!,
  ready: (a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1),
}
