import type {Channel, ChannelModel, ConfirmChannel, Message, MessagePropertyHeaders, Options} from 'amqplib'

import {
  ALL_CAPABILITIES,
  type Cancelled,
  type Capabilities,
  type ClaimAttempt,
  type DeadReason,
  type Delivery,
  type Driver,
  type DriverMessage,
  type Failure,
  type GcResult,
  type MessageInfo,
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
import {EXIT} from '../../exit-codes.js'
import {ConnectionLostError, NoSubscribersError, NotInFlightError, NotSupportedError, QueueFullError, ServerRefusedError, ServerUnavailableError} from '../../errors.js'
import {lazy, randomBytesFast} from '../../lazy.js'
import {ID_PATTERN, idTime, newMessageId} from '../../message-id.js'
import {DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, isExhausted} from '../../policy.js'
import {parseReceipt, pushBodies, wakeupFrom} from '../common.js'
import {type AmqpUrl, parseAmqpUrl} from './url.js'

export {parseAmqpUrl, type AmqpUrl} from './url.js'

/**
 * The RabbitMQ engine (3.10 or later, no plugins): mq's queues as broker queues, shared by any
 * number of processes and hosts. What lives where on the broker (every name but a queue's own
 * after PREFIX/ when prefix= is given; "/" never occurs in an mq queue name, so none collides):
 *
 *   QUEUE                  the queue's ready messages: a quorum queue (replicated, survives a
 *                          restart; x-overflow reject-publish, x-max-length = max-depth;
 *                          expired messages dead-letter at least once into mq/dead/QUEUE)
 *   mq/dead/QUEUE          its dead letters (classic, durable: peek and requeue keep its order)
 *   mq/settings/QUEUE      one message: the queue's settings, written when the queue is made
 *   mq/paused/QUEUE        holds a message while the queue is paused
 *   mq/delay/QUEUE/MS      delayed messages (quorum, x-message-ttl MS, dead-lettered into QUEUE
 *                          when due; x-expires removes the queue once unused)
 *   mq/topic/TOPIC         a fanout exchange; subscribing binds a queue to it
 *
 * Message properties: persistent, messageId = the mq id; headers x-mq-attempts (deliveries
 * before this copy was published), x-mq-expires (ms since epoch), x-mq-headers (the user's),
 * x-mq-topic, x-mq-gen (the queue's generation, so that a delayed copy of a dropped queue's
 * message does not reach a new queue of that name), x-mq-lf (the last failure), x-mq-dead
 * (why it died). A delivery's attempt is x-mq-attempts + the broker's x-delivery-count + 1.
 *
 * Claims: basic.get, or basic.consume with a prefetch of the worker's -j (watch starts a
 * consumer; its deliveries wait in this process for the next claim). A delivery belongs to the
 * channel that received it: a receipt settles only in this process (portableReceipts false:
 * `mq pop`, `ack`, `nack` are refused on the command line, 78, naming mq consume). The lease
 * is this process's timer: when it ends, the delivery is given back (basic.nack, requeue),
 * which the broker counts; a process that dies gives its deliveries back by closing.
 *
 * What the broker cannot tell over AMQP (no management plugin here) is declared, never
 * guessed: in-flight and delayed counts (null in stats), peek of anything but dead letters,
 * show, wait, cancel, listing queues and topics, priorities, idempotency keys. A queue's
 * settings are fixed when it is made (queue arguments cannot change).
 */
export const RABBITMQ_CAPABILITIES: Capabilities = {
  ...ALL_CAPABILITIES,
  inspect: false,
  keepsDone: false,
  keys: false,
  listing: false,
  portableReceipts: false,
  priorities: false,
}

/** How long an unused delay queue outlives its last message's delay (x-expires = delay + this). */
const DELAY_QUEUE_GRACE_MS = 10 * 60_000

/** A queue's settings, fixed when it is made (mq/settings/QUEUE). */
interface Settings {
  maxAttempts: number
  leaseMs: number
  maxDepth?: number
  /** The queue's generation: drawn when it was made. */
  gen: string
}

/** A delivery claimed by this process and not yet settled. */
interface Held {
  queue: string
  id: string
  token: string
  msg: Message
  channel: Channel
  attempt: number
  timer?: NodeJS.Timeout
}

/** A consumer started by watch: deliveries wait here for the next claim. */
interface Consumer {
  tag?: string
  channel: Channel
  buffer: Message[]
  listeners: Set<() => void>
}

/** Delays are rounded up to a step (a delay queue per distinct delay: steps keep them few). */
export function delayStep(ms: number): number {
  const step = ms < 10_000 ? 100 : ms < 600_000 ? 1000 : 60_000
  return Math.max(step, Math.ceil(ms / step) * step)
}

/** A header's value as a number (amqplib gives numbers, or strings from other clients). */
const num = (v: unknown, dflt = 0) => (v === undefined || v === null || Number.isNaN(Number(v)) ? dflt : Number(v))

/** Headers the broker adds, dropped when a message is published again. */
const BROKER_HEADERS = /^x-(delivery-count|death|first-death-|last-death-)/

export class RabbitBackend implements Driver {
  readonly kind = 'rabbitmq'
  readonly capabilities = RABBITMQ_CAPABILITIES
  private readonly cfg: AmqpUrl
  private conn?: ChannelModel
  private connecting?: Promise<ChannelModel>
  private lost?: string
  private closed = false
  /** Publishes (confirmed). */
  private pub?: Promise<ConfirmChannel>
  /** Claims and settles: every delivery this process holds came on it. */
  private work?: Promise<Channel>
  /** Questions that may be answered 404 or 406, which close a channel: never the others. */
  private probeCh?: Promise<Channel>
  private readonly returned = new Set<string>()
  private readonly settingsOf = new Map<string, Settings>()
  private readonly kindOf = new Map<string, {kind: 'queue' | 'topic'; at: number}>()
  private readonly held = new Map<string, Held>()
  /** Tokens whose lease ran out (the message given back), so that their receipts say "lease lost"; the last 10,000. */
  private readonly lapsed = new Map<string, string>()
  private readonly consumers = new Map<string, Consumer>()
  private concurrency = 1
  /** A worker said how many it runs at once (hint): its claims come from a consumer. */
  private hinted = false
  private serverVersion = ''

  constructor(url: string) {
    this.cfg = parseAmqpUrl(url)
  }

  get maxBodyBytes(): number {
    return this.cfg.maxBodyBytes
  }

  hint(h: {concurrency: number}): void {
    this.concurrency = Math.max(1, Math.floor(h.concurrency))
    this.hinted = true
  }

  // ---- names --------------------------------------------------------------------------------

  private name(queue: string): string {
    return this.cfg.prefix ? `${this.cfg.prefix}/${queue}` : queue
  }
  private internal(what: 'dead' | 'delay' | 'paused' | 'settings' | 'topic', queue: string): string {
    return `${this.cfg.prefix ? this.cfg.prefix + '/' : ''}mq/${what}/${queue}`
  }
  private delayName(queue: string, ms: number): string {
    return `${this.internal('delay', queue)}/${ms}`
  }

  // ---- the connection and its channels -----------------------------------------------------

  private connection(): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(new ServerUnavailableError(this.cfg.display, 'the connection was closed'))
    if (this.lost) return Promise.reject(new ServerUnavailableError(this.cfg.display, `the connection was lost: ${this.lost}`))
    this.connecting ??= this.open().catch((error: unknown) => {
      this.connecting = undefined
      throw error
    })
    return this.connecting
  }

  private async open(): Promise<ChannelModel> {
    const amqp = await import('amqplib')
    let conn: ChannelModel
    try {
      conn = await amqp.connect(this.cfg.connect, {noDelay: true, timeout: this.cfg.connectTimeoutMs})
    } catch (error) {
      throw this.connectError(error as Error & {code?: string})
    }
    this.serverVersion = String((conn.connection as unknown as {serverProperties?: {version?: unknown}}).serverProperties?.version ?? '')
    conn.on('error', (error: Error) => {
      this.lost ??= error.message
    })
    conn.on('close', (error?: Error) => {
      if (!this.closed) this.lost ??= error?.message ?? 'the broker closed the connection'
      this.dropDeliveries(undefined)
    })
    this.conn = conn
    return conn
  }

  /** Why a connection could not be made, as one line with the right exit status. */
  private connectError(error: Error & {code?: string}): Error {
    const why = error.message.replace(/^Handshake terminated by server: /, '')
    if (/ACCESS[-_]REFUSED|403/.test(why)) return new ServerRefusedError(this.cfg.display, 'the user name or password was refused (ACCESS_REFUSED)', EXIT.NO_PERM)
    if (/vhost .* not found/i.test(why)) return new ServerRefusedError(this.cfg.display, `there is no vhost ${JSON.stringify(this.cfg.connect.vhost)} (rabbitmqctl add_vhost)`, EXIT.CONFIG)
    // 3.10 closes the connection at connection.open without saying why: no such vhost, or no access to it.
    if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(why))
      return new ServerRefusedError(this.cfg.display, `the broker refused vhost ${JSON.stringify(this.cfg.connect.vhost)}: it does not exist, or ${this.cfg.connect.username} may not use it (rabbitmqctl add_vhost, set_permissions)`, EXIT.CONFIG)
    if (/NOT[-_]ALLOWED|530/.test(why)) return new ServerRefusedError(this.cfg.display, `access to vhost ${JSON.stringify(this.cfg.connect.vhost)} was refused (rabbitmqctl set_permissions)`, EXIT.NO_PERM)
    return new ServerUnavailableError(this.cfg.display, `cannot connect: ${error.code ?? why}`)
  }

  /** A channel, opened once and again after it closed (a 404 closes the probe channel). */
  private channel<C extends Channel>(slot: 'probeCh' | 'pub' | 'work', make: (c: ChannelModel) => Promise<C>): Promise<C> {
    const current = this[slot] as Promise<C> | undefined
    if (current) return current
    const opening = this.connection().then(async (conn) => {
      let ch: C
      try {
        ch = await make(conn)
      } catch (error) {
        throw this.failure(error)
      }
      ch.on('error', () => {})
      ch.on('close', () => {
        if (this[slot] === opening) this[slot] = undefined
        if (slot === 'work') this.dropDeliveries(ch)
      })
      if (slot === 'pub') ch.on('return', (m: {properties: {messageId?: string}}) => m.properties.messageId && this.returned.add(m.properties.messageId))
      return ch
    })
    ;(this as Record<typeof slot, Promise<Channel> | undefined>)[slot] = opening
    opening.catch(() => {
      if (this[slot] === opening) this[slot] = undefined
    })
    return opening
  }
  private pubChannel() {
    return this.channel('pub', (c) => c.createConfirmChannel())
  }
  private workChannel() {
    return this.channel('work', (c) => c.createChannel())
  }
  private probeChannel() {
    return this.channel('probeCh', (c) => c.createChannel())
  }

  /** Deliveries of a channel that closed (or of every channel: undefined) are no longer in flight here. */
  private dropDeliveries(channel: Channel | undefined): void {
    for (const [token, h] of this.held) {
      if (channel && h.channel !== channel) continue
      clearTimeout(h.timer)
      this.held.delete(token)
    }
    for (const [queue, c] of this.consumers) {
      if (channel && c.channel !== channel) continue
      this.consumers.delete(queue)
      for (const fire of c.listeners) fire()
    }
  }

  /** An error of the client as mq's: the connection gone is 69 (ConnectionLostError where a request may have been sent). */
  private failure(error: unknown, sent = false): Error {
    if (error instanceof Error && 'exitCode' in error) return error
    const message = error instanceof Error ? error.message : String(error)
    if (this.lost || this.closed || /Connection closed|connection closed|Channel closed|channel closed|ECONNRESET|EPIPE/.test(message)) {
      const why = `the connection was lost${this.lost ? `: ${this.lost}` : ''}`
      return sent ? new ConnectionLostError(this.cfg.display, why) : new ServerUnavailableError(this.cfg.display, why)
    }
    return new ServerRefusedError(this.cfg.display, message.replace(/^Operation failed: \w+; /, ''), EXIT.UNAVAILABLE)
  }

  /** A question that a missing queue or exchange answers with 404: undefined then (the probe channel is opened again). */
  private async probe<T>(ask: (ch: Channel) => Promise<T>): Promise<T | undefined> {
    const ch = await this.probeChannel()
    try {
      return await ask(ch)
    } catch (error) {
      if ((error as {code?: number}).code === 404) return undefined
      throw this.failure(error)
    }
  }

  /** Publishes and waits for the broker's confirm: 'ok', 'returned' (mandatory, routed nowhere) or 'nacked' (refused: a full queue). */
  private async publish(exchange: string, key: string, body: Buffer, opts: Options.Publish): Promise<'nacked' | 'ok' | 'returned'> {
    const ch = await this.pubChannel()
    return new Promise((resolve, reject) => {
      try {
        ch.publish(exchange, key, body, opts, (error) => {
          const id = opts.messageId
          const wasReturned = id !== undefined && this.returned.delete(id)
          if (error) return error.message === 'message nacked' ? resolve('nacked') : reject(this.failure(error, true))
          resolve(wasReturned ? 'returned' : 'ok')
        })
      } catch (error) {
        reject(this.failure(error))
      }
    })
  }

  // ---- queues and their settings ----------------------------------------------------------

  /** The main queue's arguments, from its settings (fixed at creation). */
  private mainArgs(queue: string, s: Settings): Record<string, unknown> {
    return {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': this.internal('dead', queue),
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      'x-queue-type': 'quorum',
      // The broker's own bound, behind push's check of the ready count. A quorum queue (3.10,
      // tried) refuses a publish only once its ready count is past x-max-length, and then until
      // it falls to 80% of it: push checks first, so that one producer at a time finds the
      // bound exact; racing producers can pass it by one each, never by more than that.
      ...(s.maxDepth === undefined ? {} : {'x-max-length': s.maxDepth}),
    }
  }

  /**
   * Makes a queue (its settings first, then its dead letters, its pause flag, and last the
   * queue itself: a queue that exists has all of them). Returns the settings it has.
   * RACE: two processes making one queue: the settings queue takes one message (x-max-length
   * 1, reject-publish), so the first settings win; the other process reads them, and refuses
   * its own if they differ (a setConfig that lost the race).
   */
  private async ensureQueue(queue: string, want?: Omit<Settings, 'gen'>): Promise<Settings> {
    const settingsQ = this.internal('settings', queue)
    const mine: Settings = {gen: randomBytesFast(6).toString('hex'), leaseMs: DEFAULT_LEASE_MS, maxAttempts: DEFAULT_MAX_ATTEMPTS, ...want}
    await this.probe((ch) => ch.assertQueue(settingsQ, {arguments: {'x-max-length': 1, 'x-overflow': 'reject-publish'}, durable: true}))
    const stored = await this.publish('', settingsQ, Buffer.from(JSON.stringify(mine)), {persistent: true})
    const s = stored === 'ok' ? mine : ((await this.readSettings(queue)) ?? mine)
    if (want && stored !== 'ok' && !sameSettings(s, mine)) throw this.fixedSettings(queue)
    await this.probe((ch) => ch.assertQueue(this.internal('dead', queue), {durable: true}))
    await this.probe((ch) => ch.assertQueue(this.internal('paused', queue), {arguments: {'x-max-length': 1, 'x-overflow': 'drop-head'}, durable: true}))
    const made = await this.probe((ch) => ch.assertQueue(this.name(queue), {arguments: this.mainArgs(queue, s), durable: true}))
    if (!made) throw new ServerUnavailableError(this.cfg.display, `${queue}: the queue could not be declared`)
    this.settingsOf.set(queue, s)
    this.kindOf.set(queue, {at: Date.now(), kind: 'queue'})
    return s
  }

  private fixedSettings(queue: string): NotSupportedError {
    return new NotSupportedError(this.kind, `changing the settings of ${queue}, which exists (a RabbitMQ queue's arguments are fixed when it is made: mq drop it, then mq config it before its first push)`)
  }

  /**
   * A queue's settings: its settings message, read and given back (basic.get, then nack with
   * requeue). RACE: another reader holds it for a moment (the queue then looks empty): read
   * again. Undefined when the queue has none (it was never made).
   */
  private async readSettings(queue: string): Promise<Settings | undefined> {
    const cached = this.settingsOf.get(queue)
    if (cached) return cached
    const settingsQ = this.internal('settings', queue)
    for (let i = 0; i < 200; i++) {
      const got = await this.probe(async (ch) => {
        const m = await ch.get(settingsQ, {noAck: false})
        if (m) ch.nack(m, false, true)
        return m || null
      })
      if (got === undefined) return undefined
      if (got) {
        const s = JSON.parse(got.content.toString()) as Settings
        this.settingsOf.set(queue, s)
        return s
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    throw new ServerUnavailableError(this.cfg.display, `${queue}: its settings message stayed out of reach (mq/settings/${queue} is empty)`)
  }

  private async settings(queue: string): Promise<Settings> {
    return (await this.readSettings(queue)) ?? {gen: '', leaseMs: DEFAULT_LEASE_MS, maxAttempts: DEFAULT_MAX_ATTEMPTS}
  }

  /**
   * Whether a name is a topic (its fanout exchange exists) or a queue (made now if need be).
   * A name looked up in the last 5 s is not looked up again.
   */
  private async resolve(name: string): Promise<'queue' | 'topic'> {
    const known = this.kindOf.get(name)
    if (known && Date.now() - known.at < 5000) return known.kind
    if (await this.probe((ch) => ch.checkExchange(this.internal('topic', name)))) {
      this.kindOf.set(name, {at: Date.now(), kind: 'topic'})
      return 'topic'
    }
    if (!(await this.exists(name))) await this.ensureQueue(name)
    this.kindOf.set(name, {at: Date.now(), kind: 'queue'})
    return 'queue'
  }

  async exists(queue: string): Promise<boolean> {
    return (await this.probe((ch) => ch.checkQueue(this.name(queue)))) !== undefined
  }

  // ---- push ------------------------------------------------------------------------------

  /**
   * Each message is published persistent, mandatory, and confirmed before push returns. A
   * delayed one goes to its delay queue. RACE: a batch into a bounded queue that fills midway
   * stores its first messages and is refused for the rest (QueueFullError says how many went).
   */
  async push(queue: string, messages: DriverMessage[], _opts: {attempt?: string; keyTtlMs?: number} = {}): Promise<Pushed[]> {
    const bodies = await pushBodies(messages)
    const target = await this.resolve(queue)
    if (target === 'topic' && messages.some((m) => (m.delayMs ?? 0) > 0))
      throw new NotSupportedError(this.kind, `a delayed push to topic ${queue} (its subscribers are only known when the message is routed)`)
    const s = target === 'queue' ? await this.settings(queue) : undefined
    const now = Date.now()
    const pushed: Pushed[] = []
    const sends = messages.map((m, i) => async () => {
      const id = newMessageId(now)
      const delay = m.delayMs !== undefined && m.delayMs > 0 ? delayStep(m.delayMs) : 0
      const headers: MessagePropertyHeaders = {
        'x-mq-attempts': 0,
        ...(s?.gen ? {'x-mq-gen': s.gen} : {}),
        ...(m.headers ? {'x-mq-headers': m.headers} : {}),
        ...(m.ttlMs === undefined ? {} : {'x-mq-expires': now + m.ttlMs}),
        ...(target === 'topic' ? {'x-mq-topic': queue} : {}),
      }
      const props: Options.Publish = {
        headers,
        mandatory: true,
        messageId: id,
        persistent: true,
        timestamp: Math.floor(now / 1000),
        // The broker dead-letters an expired message at the queue's head; a claim checks x-mq-expires too.
        ...(m.ttlMs !== undefined && delay === 0 ? {expiration: String(Math.max(1, Math.round(m.ttlMs)))} : {}),
      }
      pushed[i] = {id, state: delay > 0 ? 'delayed' : 'ready'}
      if (delay > 0) {
        await this.ensureDelayQueue(queue, delay)
        return this.publish('', this.delayName(queue, delay), bodies[i], props)
      }
      if (target === 'topic') return this.publish(this.internal('topic', queue), '', bodies[i], props)
      const first = await this.publish('', this.name(queue), bodies[i], props)
      if (first !== 'returned') return first
      // The queue went away since it was looked up (dropped): made again.
      await this.ensureQueue(queue)
      return this.publish('', this.name(queue), bodies[i], props)
    })
    // Into a bounded queue one at a time: the broker counts a publish only once it is stored,
    // so publishes in flight together could all pass the bound.
    const outcomes: Array<'nacked' | 'ok' | 'returned'> = []
    if (s?.maxDepth !== undefined) {
      // The bound counts ready messages (the broker's count): what cannot fit is refused whole,
      // before anything is published. RACE: another producer filling the queue meanwhile makes
      // the broker refuse the rest (see above).
      const ready = (await this.probe((ch) => ch.checkQueue(this.name(queue))))?.messageCount ?? 0
      const now = messages.filter((m) => !(m.delayMs !== undefined && m.delayMs > 0)).length
      if (now > 0 && ready + now > s.maxDepth) throw new QueueFullError(queue, ready, s.maxDepth)
      for (const send of sends) outcomes.push(await send())
    }
    else outcomes.push(...(await Promise.all(sends.map((send) => send()))))
    if (target === 'topic' && outcomes.includes('returned')) throw new NoSubscribersError(queue)
    const refused = outcomes.filter((o) => o === 'nacked').length
    if (refused > 0) {
      const depth = s?.maxDepth ?? 0
      const e = new QueueFullError(queue, (await this.probe((ch) => ch.checkQueue(this.name(queue))))?.messageCount ?? depth, depth)
      if (refused < outcomes.length) e.message += `; ${outcomes.length - refused} of the ${outcomes.length} messages were pushed before it filled`
      throw e
    }
    return pushed
  }

  /** A delay queue, declared again at each use (which keeps x-expires from removing it under its messages). */
  private async ensureDelayQueue(queue: string, ms: number): Promise<void> {
    const args = {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': this.name(queue),
      'x-dead-letter-strategy': 'at-least-once',
      'x-expires': ms + DELAY_QUEUE_GRACE_MS,
      'x-message-ttl': ms,
      'x-overflow': 'reject-publish',
      'x-queue-type': 'quorum',
    }
    await this.probe((ch) => ch.assertQueue(this.delayName(queue, ms), {arguments: args, durable: true}))
  }

  // ---- claims ----------------------------------------------------------------------------

  /**
   * The next deliverable message: one a consumer of this process already received, else
   * basic.get. A worker (hint) starts its consumer at its first claim, so that the broker sends
   * it up to -j messages ahead (prefetch) and most claims cost no round trip; basic.get serves a
   * claim that finds none received yet. A copy from a dropped queue's past (another generation) is dropped; one past its
   * expiry, or delivered max-attempts times, is dead-lettered instead (and the next looked at).
   */
  async tryClaim(queue: string, leaseMs?: number): Promise<ClaimAttempt> {
    const paused = await this.probe((ch) => ch.checkQueue(this.internal('paused', queue)))
    if (!paused) return {empty: true}
    if (paused.messageCount > 0) return {paused: true}
    const s = await this.settings(queue)
    if (this.hinted) await this.consumer(queue)
    for (;;) {
      const c = this.consumers.get(queue)
      const channel = c ? c.channel : await this.workChannel()
      let msg: Message | false
      try {
        msg = c?.buffer.shift() ?? false
        if (!msg && c && this.hinted) {
          // A worker takes only what its consumer is sent: basic.get would pass the prefetch,
          // and a message it took could overtake one on its way to the consumer (FIFO lost).
          // RACE: what the broker sends may still be on its way (the consumer just started, or
          // the last ack is making room): when the queue has ready messages, wait for the
          // next delivery (a few round trips; at most 2 s, if another consumer takes them).
          const {messageCount} = await channel.checkQueue(this.name(queue))
          msg = c.buffer.shift() ?? (messageCount > 0 ? await this.nextDelivery(c, 2000) : false)
        } else if (!msg) msg = await channel.get(this.name(queue), {noAck: false})
      } catch (error) {
        if ((error as {code?: number}).code === 404) return {empty: true}
        throw this.failure(error)
      }
      if (!msg) return {empty: true}
      const h = msg.properties.headers ?? {}
      const attempt = num(h['x-mq-attempts']) + num(h['x-delivery-count']) + 1
      if (h['x-mq-gen'] !== undefined && s.gen !== '' && h['x-mq-gen'] !== s.gen) {
        channel.ack(msg)
        continue
      }
      const expires = h['x-mq-expires'] === undefined ? undefined : num(h['x-mq-expires'])
      const id = typeof msg.properties.messageId === 'string' && ID_PATTERN.test(msg.properties.messageId) ? msg.properties.messageId : newMessageId()
      if (expires !== undefined && Date.now() >= expires) {
        await this.bury(queue, msg, channel, {at: Date.now(), attempts: attempt - 1, reason: 'expired'})
        continue
      }
      if (attempt > s.maxAttempts) {
        await this.bury(queue, msg, channel, {at: Date.now(), attempts: attempt - 1, reason: 'max_attempts', ...this.lastFailureOf(msg)})
        continue
      }
      const lease = leaseMs ?? s.leaseMs
      const token = randomBytesFast(8).toString('hex')
      const held: Held = {attempt, channel, id, msg, queue, token}
      this.held.set(token, held)
      this.arm(held, lease)
      const body = msg.content
      const userHeaders = h['x-mq-headers'] as Record<string, unknown> | undefined
      const delivery: Delivery = {
        attempt,
        body,
        enqueuedAt: idTime(id),
        id,
        leaseMs: lease,
        leaseUntil: Date.now() + lease,
        openBody: () => lazy.stream().Readable.from([body]),
        priority: 0,
        queue,
        receipt: `${id}:${token}`,
        size: body.length,
        ...(userHeaders ? {headers: Object.fromEntries(Object.entries(userHeaders).map(([k, v]) => [k, String(v)]))} : {}),
        ...(expires === undefined ? {} : {expiresAt: expires}),
        ...(typeof h['x-mq-topic'] === 'string' ? {topic: h['x-mq-topic']} : {}),
      }
      return {delivery}
    }
  }

  /** The lease: this process's timer. When it ends, the delivery is given back (the broker counts it). */
  private arm(h: Held, leaseMs: number): void {
    clearTimeout(h.timer)
    h.timer = setTimeout(() => {
      if (this.held.get(h.token) !== h) return
      this.held.delete(h.token)
      this.lapsed.set(h.token, h.id)
      if (this.lapsed.size > 10_000) this.lapsed.delete(this.lapsed.keys().next().value!)
      try {
        h.channel.nack(h.msg, false, true)
      } catch {
        // The channel is gone: the broker has given the message back already.
      }
    }, leaseMs)
    h.timer.unref()
  }

  private lastFailureOf(msg: Message): Failure {
    const lf = msg.properties.headers?.['x-mq-lf']
    if (typeof lf !== 'string') return {}
    const {at: _at, ...failure} = JSON.parse(lf) as Failure & {at: number}
    return failure
  }

  /** Dead-letters a message this process holds: a copy into mq/dead/QUEUE with why, confirmed, then the original acked. */
  private async bury(queue: string, msg: Message, channel: Channel, reason: DeadReason): Promise<void> {
    const outcome = await this.publish('', this.internal('dead', queue), msg.content, this.republished(msg, {'x-mq-dead': JSON.stringify(reason)}, false))
    if (outcome !== 'ok') throw new ServerUnavailableError(this.cfg.display, `${queue}: the dead-letter queue refused a message (${outcome})`)
    channel.ack(msg)
  }

  /** The properties of a copy of msg: its own, the broker's headers dropped, `extra` added. */
  private republished(msg: Message, extra: MessagePropertyHeaders, keepExpiration: boolean): Options.Publish {
    const p = msg.properties
    const headers: MessagePropertyHeaders = {}
    for (const [k, v] of Object.entries(p.headers ?? {})) if (!BROKER_HEADERS.test(k)) headers[k] = v
    Object.assign(headers, extra)
    const expires = headers['x-mq-expires'] === undefined ? undefined : num(headers['x-mq-expires'])
    return {
      headers,
      messageId: p.messageId,
      persistent: true,
      ...(p.timestamp === undefined ? {} : {timestamp: p.timestamp}),
      ...(p.contentType ? {contentType: p.contentType} : {}),
      ...(keepExpiration && expires !== undefined ? {expiration: String(Math.max(1, expires - Date.now()))} : {}),
    }
  }

  async watch(queue: string): Promise<Wakeup> {
    const c = await this.consumer(queue)
    return wakeupFrom((fire) => {
      if (!c) return () => {}
      if (c.buffer.length > 0) fire()
      c.listeners.add(fire)
      return () => c.listeners.delete(fire)
    })
  }

  /** The next delivery a consumer receives, or false after ms. */
  private nextDelivery(c: Consumer, ms: number): Promise<Message | false> {
    if (c.buffer.length > 0) return Promise.resolve(c.buffer.shift()!)
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        c.listeners.delete(done)
        resolve(c.buffer.shift() ?? false)
      }
      const timer = setTimeout(done, ms)
      c.listeners.add(done)
    })
  }

  /**
   * This process's consumer of a queue (basic.consume, prefetch = the worker's -j), started
   * once. A waiting claim on a queue that does not exist yet makes it (with the default
   * settings), as AMQP consumers declare what they consume: its first push then wakes it.
   */
  private async consumer(queue: string): Promise<Consumer | undefined> {
    const existing = this.consumers.get(queue)
    if (existing) return existing
    if ((await this.resolve(queue)) === 'topic') return undefined
    const channel = await this.workChannel()
    const c: Consumer = {buffer: [], channel, listeners: new Set()}
    this.consumers.set(queue, c)
    try {
      await channel.prefetch(this.concurrency)
      const {consumerTag} = await channel.consume(
        this.name(queue),
        (m) => {
          if (m === null) {
            // Cancelled by the broker (the queue was deleted).
            if (this.consumers.get(queue) === c) this.consumers.delete(queue)
          } else c.buffer.push(m)
          for (const fire of c.listeners) fire()
        },
        {noAck: false},
      )
      c.tag = consumerTag
    } catch (error) {
      this.consumers.delete(queue)
      if ((error as {code?: number}).code === 404) return undefined
      throw this.failure(error)
    }
    return c
  }

  // ---- settling --------------------------------------------------------------------------

  /** The delivery a receipt names, held by this process; taken out of flight (its timer stopped). */
  private take(queue: string, receipt: string): Held {
    const {id, token} = parseReceipt(queue, receipt)
    if (this.lost) throw new ServerUnavailableError(this.cfg.display, `the connection was lost: ${this.lost}`)
    let h = token ? this.held.get(token) : undefined
    if (!token) for (const x of this.held.values()) if (x.id === id && x.queue === queue) h = x
    if (token && this.lapsed.get(token) === id) throw new NotInFlightError(queue, id, 'lease lost: the lease ran out and the message was given back to the queue')
    if (!h || h.id !== id || h.queue !== queue) throw NotInFlightError.gone(queue, id)
    clearTimeout(h.timer)
    this.held.delete(h.token)
    return h
  }

  async ack(queue: string, receipt: string): Promise<string> {
    const h = this.take(queue, receipt)
    try {
      h.channel.ack(h.msg)
    } catch (error) {
      throw this.failure(error)
    }
    return h.id
  }

  /**
   * Given back as a copy (with its attempts so far, and why it failed) published to the queue,
   * or to a delay queue, then the original acked: a crash between the two leaves both (a
   * duplicate, never a loss). The copy joins the queue's tail.
   */
  async release(queue: string, receipt: string, opts: ReleaseOptions = {}): Promise<Released> {
    const h = this.take(queue, receipt)
    const s = await this.settings(queue)
    const now = Date.now()
    if (!opts.uncount && isExhausted(h.attempt, s.maxAttempts)) {
      await this.bury(queue, h.msg, h.channel, {at: now, attempts: h.attempt, reason: 'max_attempts', ...opts.failure})
      return {id: h.id, state: 'dead'}
    }
    const delay = opts.delayMs !== undefined && opts.delayMs > 0 ? delayStep(opts.delayMs) : 0
    const extra: MessagePropertyHeaders = {'x-mq-attempts': opts.uncount ? h.attempt - 1 : h.attempt}
    if (opts.failure) extra['x-mq-lf'] = JSON.stringify({...opts.failure, at: now})
    const props = this.republished(h.msg, extra, delay === 0)
    if (delay > 0) await this.ensureDelayQueue(queue, delay)
    const outcome = await this.publish('', delay > 0 ? this.delayName(queue, delay) : this.name(queue), h.msg.content, props)
    if (outcome !== 'ok') {
      // Not given back as a copy (a full queue refuses it): given back as it is, which the broker counts.
      h.channel.nack(h.msg, false, true)
      return {id: h.id, state: 'ready'}
    }
    h.channel.ack(h.msg)
    return delay > 0 ? {id: h.id, notBefore: now + delay, state: 'delayed'} : {id: h.id, state: 'ready'}
  }

  async renew(queue: string, receipt: string, leaseMs?: number): Promise<number> {
    const h = this.take(queue, receipt)
    const lease = leaseMs ?? (await this.settings(queue)).leaseMs
    this.held.set(h.token, h)
    this.arm(h, lease)
    return lease
  }

  async deadLetter(queue: string, receipt: string, failure?: Failure): Promise<void> {
    const h = this.take(queue, receipt)
    await this.bury(queue, h.msg, h.channel, {at: Date.now(), attempts: h.attempt, reason: 'rejected', ...failure})
  }

  // ---- inspection ------------------------------------------------------------------------

  /**
   * Only dead letters can be peeked: read from mq/dead/QUEUE and given back in order (it is a
   * classic queue nobody consumes). RACE: a peek or requeue elsewhere holds some for a moment:
   * they are missing from this peek.
   */
  async peek(queue: string, req: PeekRequest): Promise<MessageInfo[]> {
    // Only state 'dead' arrives here: the queue layer refuses the others (capability inspect).
    return this.withDead(queue, req.limit, (msgs) => msgs.map((m) => this.deadInfo(m, Boolean(req.bodies))))
  }

  /** Holds up to `limit` dead letters of a queue on the probe channel while `use` runs, then gives back those it did not ack. */
  private async withDead<T>(queue: string, limit: number, use: (msgs: Message[], ack: (m: Message) => void) => Promise<T> | T): Promise<T> {
    const ch = await this.probeChannel()
    const got: Message[] = []
    const acked = new Set<Message>()
    try {
      while (got.length < limit) {
        const m = await ch.get(this.internal('dead', queue), {noAck: false})
        if (!m) break
        got.push(m)
      }
      return await use(got, (m) => {
        ch.ack(m)
        acked.add(m)
      })
    } catch (error) {
      if ((error as {code?: number}).code === 404) return use([], () => {})
      throw this.failure(error)
    } finally {
      try {
        for (const m of got) if (!acked.has(m)) ch.nack(m, false, true)
      } catch {
        // The channel closed: the broker gives them back itself.
      }
    }
  }

  private deadInfo(m: Message, bodies: boolean): MessageInfo {
    const h = m.properties.headers ?? {}
    const id = String(m.properties.messageId ?? '')
    const death = (h['x-death'] as Array<{reason?: string}> | undefined)?.[0]
    const reason: DeadReason =
      typeof h['x-mq-dead'] === 'string'
        ? (JSON.parse(h['x-mq-dead']) as DeadReason)
        : {at: num(h['x-first-death-time'] ?? m.properties.timestamp) * 1000, attempts: num(h['x-mq-attempts']) + num(h['x-delivery-count']), reason: death?.reason === 'expired' ? 'expired' : death?.reason === 'rejected' ? 'rejected' : 'max_attempts'}
    const userHeaders = h['x-mq-headers'] as Record<string, unknown> | undefined
    return {
      attempt: reason.attempts,
      enqueuedAt: ID_PATTERN.test(id) ? idTime(id) : num(m.properties.timestamp) * 1000,
      id,
      priority: 0,
      reason,
      size: m.content.length,
      state: 'dead',
      ...(bodies ? {body: m.content} : {}),
      ...(userHeaders ? {headers: Object.fromEntries(Object.entries(userHeaders).map(([k, v]) => [k, String(v)]))} : {}),
      ...(h['x-mq-expires'] === undefined ? {} : {expiresAt: num(h['x-mq-expires'])}),
      ...(typeof h['x-mq-topic'] === 'string' ? {topic: h['x-mq-topic']} : {}),
    }
  }

  /** Counts the broker can give: ready (basic queue.declare counts ready messages only) and dead; the rest are unknown. */
  async stats(queue?: string): Promise<QueueStats[]> {
    // A queue is always named here: the queue layer refuses stats of every queue (capability listing).
    queue = queue!
    await this.readSettings(queue) // for warnings(): a lease longer than the broker's consumer_timeout
    const [main, dead, paused] = [
      await this.probe((ch) => ch.checkQueue(this.name(queue))),
      await this.probe((ch) => ch.checkQueue(this.internal('dead', queue))),
      await this.probe((ch) => ch.checkQueue(this.internal('paused', queue))),
    ]
    const ready = main?.messageCount ?? 0
    return [
      {
        dead: dead?.messageCount ?? 0,
        delayed: null,
        done: null,
        inflight: null,
        oldestReadyAgeMs: null,
        paused: (paused?.messageCount ?? 0) > 0,
        queue,
        ready,
        unknown: ready > 0 ? ['inflight', 'delayed', 'done', 'oldestReadyAgeMs'] : ['inflight', 'delayed', 'done'],
      },
    ]
  }

  async warnings(): Promise<string[]> {
    await this.connection()
    const lines: string[] = []
    const [major = 0, minor = 0] = this.serverVersion.split('.').map(Number)
    if (major < 3 || (major === 3 && minor < 10)) lines.push(`RabbitMQ ${this.serverVersion || '(version unknown)'}: delays and expiry need 3.10 or later (quorum queues with message TTL)`)
    const longLease = [...this.settingsOf.entries()].find(([, s]) => s.leaseMs > 30 * 60_000)
    if (longLease) lines.push(`${longLease[0]}: its lease is longer than 30 minutes, RabbitMQ's default consumer_timeout: a delivery held that long closes its consumer's channel unless the broker's consumer_timeout is raised`)
    return lines
  }

  async show(): Promise<MessageInfo | undefined> {
    throw new NotSupportedError(this.kind, 'show')
  }
  async cancel(): Promise<Cancelled> {
    throw new NotSupportedError(this.kind, 'cancel')
  }

  // ---- administration --------------------------------------------------------------------

  async getConfig(queue: string): Promise<QueueConfig> {
    const s = await this.settings(queue)
    return {leaseMs: s.leaseMs, maxAttempts: s.maxAttempts, ...(s.maxDepth === undefined ? {} : {maxDepth: s.maxDepth})}
  }

  /** Settings are given when a queue is made: a queue that exists keeps its own (a change is 78). */
  async setConfig(queue: string, patch: QueueConfigPatch): Promise<QueueConfig> {
    const exists = await this.exists(queue)
    const base: Omit<Settings, 'gen'> = exists ? await this.settings(queue) : {leaseMs: DEFAULT_LEASE_MS, maxAttempts: DEFAULT_MAX_ATTEMPTS}
    const next: Omit<Settings, 'gen'> = {leaseMs: base.leaseMs, maxAttempts: base.maxAttempts, ...(base.maxDepth === undefined ? {} : {maxDepth: base.maxDepth})}
    if (patch.leaseMs !== undefined) next.leaseMs = patch.leaseMs ?? DEFAULT_LEASE_MS
    if (patch.maxAttempts !== undefined) next.maxAttempts = patch.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    if (patch.maxDepth !== undefined) {
      if (patch.maxDepth === null) delete next.maxDepth
      else next.maxDepth = patch.maxDepth
    }
    if (exists) {
      if (!sameSettings(base as Settings, next as Settings)) throw this.fixedSettings(queue)
    } else await this.ensureQueue(queue, next)
    return this.getConfig(queue)
  }

  /** Paused while mq/paused/QUEUE holds a message (claims ask at each claim; a running worker's consumer keeps what it has received). */
  async pause(queue: string): Promise<void> {
    const outcome = await this.publish('', this.internal('paused', queue), Buffer.from('paused'), {persistent: true})
    if (outcome !== 'ok') throw new ServerUnavailableError(this.cfg.display, `${queue}: the pause flag was refused (${outcome})`)
  }

  async resume(queue: string): Promise<boolean> {
    const r = await this.probe((ch) => ch.purgeQueue(this.internal('paused', queue)))
    return (r?.messageCount ?? 0) > 0
  }

  /** Ready messages and dead letters; delayed messages wait in delay queues mq cannot list (refused, 78). */
  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>> {
    if (states.includes('delayed')) throw new NotSupportedError(this.kind, 'purging delayed messages (they wait in per-delay queues that cannot be listed over AMQP; purge --state ready --state dead)')
    const out: Record<PurgeState, number> = {dead: 0, delayed: 0, done: 0, ready: 0}
    if (states.includes('ready')) out.ready = (await this.probe((ch) => ch.purgeQueue(this.name(queue))))?.messageCount ?? 0
    if (states.includes('dead')) out.dead = (await this.probe((ch) => ch.purgeQueue(this.internal('dead', queue))))?.messageCount ?? 0
    onProgress?.(out.ready + out.dead)
    return out
  }

  /**
   * Dead letters back to the queue: each a copy with its count reset, confirmed, then the dead
   * letter acked. One whose expiry has passed comes back without it.
   */
  async requeue(queue: string, ids?: string[]): Promise<Requeued> {
    const want = ids ? new Set(ids) : undefined
    const count = (await this.probe((ch) => ch.checkQueue(this.internal('dead', queue))))?.messageCount ?? 0
    const requeued: string[] = []
    const expiryCleared: string[] = []
    await this.withDead(queue, count, async (msgs, ack) => {
      for (const m of msgs) {
        const id = String(m.properties.messageId ?? '')
        if (want && !want.has(id)) continue
        const h = m.properties.headers ?? {}
        const expired = h['x-mq-expires'] !== undefined && num(h['x-mq-expires']) <= Date.now()
        const props = this.republished(m, {'x-mq-attempts': 0}, true)
        delete props.headers!['x-mq-dead']
        delete props.headers!['x-mq-lf']
        if (expired) {
          delete props.headers!['x-mq-expires']
          delete props.expiration
        }
        const outcome = await this.publish('', this.name(queue), m.content, props)
        if (outcome === 'nacked') throw new QueueFullError(queue, 0, 0)
        ack(m)
        requeued.push(id)
        if (expired) expiryCleared.push(id)
      }
    })
    return {expiryCleared: expiryCleared.sort(), requeued: requeued.sort()}
  }

  async gc(): Promise<GcResult> {
    return {done: 0, keys: 0}
  }

  /**
   * The queue, its dead letters, pause flag and settings: deleted, with their messages. Delayed
   * copies still in delay queues carry the old generation: a new queue of the name drops them.
   */
  async drop(queue: string): Promise<number> {
    // What this process holds of the queue goes with it (other processes' deliveries too, uncounted).
    let mine = 0
    for (const [token, h] of this.held)
      if (h.queue === queue) {
        clearTimeout(h.timer)
        this.held.delete(token)
        mine++
      }
    const main = await this.probe((ch) => ch.deleteQueue(this.name(queue)))
    const dead = await this.probe((ch) => ch.deleteQueue(this.internal('dead', queue)))
    await this.probe((ch) => ch.deleteQueue(this.internal('paused', queue)))
    await this.probe((ch) => ch.deleteQueue(this.internal('settings', queue)))
    this.settingsOf.delete(queue)
    this.kindOf.delete(queue)
    return mine + (main?.messageCount ?? 0) + (dead?.messageCount ?? 0)
  }

  // ---- topics ----------------------------------------------------------------------------

  /** Binds the queue to the topic's fanout exchange (made if need be); whether it already was, the broker does not say. */
  async subscribe(topic: string, queue: string): Promise<boolean | undefined> {
    await this.probe((ch) => ch.assertExchange(this.internal('topic', topic), 'fanout', {durable: true}))
    if (!(await this.exists(queue))) await this.ensureQueue(queue)
    await this.probe((ch) => ch.bindQueue(this.name(queue), this.internal('topic', topic), ''))
    this.kindOf.delete(topic)
    return undefined
  }

  async unsubscribe(topic: string, queue: string): Promise<void> {
    await this.probe((ch) => ch.unbindQueue(this.name(queue), this.internal('topic', topic), ''))
  }

  async subscribers(topic: string): Promise<string[] | undefined> {
    if (!(await this.probe((ch) => ch.checkExchange(this.internal('topic', topic))))) return undefined
    throw new NotSupportedError(this.kind, `listing the subscribers of ${topic} (bindings cannot be listed over AMQP)`)
  }

  async topics(): Promise<string[]> {
    throw new NotSupportedError(this.kind, 'listing topics')
  }

  // ---- closing ---------------------------------------------------------------------------

  /**
   * Deliveries a consumer received and no claim took are given back as copies with their
   * count as it was (a nack would count a delivery nobody handled); held deliveries go back
   * when the connection closes, counted.
   */
  async close(): Promise<void> {
    if (this.closed) return
    const conn = this.conn
    try {
      if (conn && !this.lost) {
        for (const [queue, c] of this.consumers) {
          if (c.tag) await c.channel.cancel(c.tag).catch(() => {})
          for (const m of c.buffer.splice(0)) {
            const attempts = num(m.properties.headers?.['x-mq-attempts']) + num(m.properties.headers?.['x-delivery-count'])
            const outcome = await this.publish('', this.name(queue), m.content, this.republished(m, {'x-mq-attempts': attempts}, true)).catch(() => 'failed')
            if (outcome === 'ok') c.channel.ack(m)
          }
        }
      }
    } finally {
      this.closed = true
      for (const h of this.held.values()) clearTimeout(h.timer)
      this.held.clear()
      this.consumers.clear()
      if (conn) await conn.close().catch(() => {})
    }
  }
}

function sameSettings(a: Omit<Settings, 'gen'>, b: Omit<Settings, 'gen'>): boolean {
  return a.leaseMs === b.leaseMs && a.maxAttempts === b.maxAttempts && (a.maxDepth ?? null) === (b.maxDepth ?? null)
}
