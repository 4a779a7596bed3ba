import {
  type Backend,
  type Capabilities,
  type ClaimDriver,
  type ClaimRequest,
  type Delivery,
  type Fate,
  type Driver,
  type DriverMessage,
  type Failure,
  type GcOptions,
  type PeekRequest,
  type PurgeState,
  type PushInput,
  type PushOptions,
  type QueueConfigPatch,
  type ReleaseOptions,
  fateOf,
} from './backend.js'
import {ConnectionLostError, DataError, NoSuchQueueError, NotInFlightError, NotSupportedError, OutcomeUnknownError, QueueFullError, QueuePausedError, ServerUnavailableError, UsageError} from './errors.js'
import {randomBytesFast} from './lazy.js'
import {pushBodies} from './backends/common.js'
import {ID_PATTERN} from './message-id.js'
import {validateQueueName} from './queue-name.js'

/** The longest one wait lasts before a waiting claim looks again (the safety net under every wake-up). */
export const MAX_BLOCK_MS = 5000

/**
 * claimWithWait: the one claim-and-wait loop, for every engine. Claims now; with nothing there
 * and a wait asked for, arms the engine's wake-up, claims again (a push between the first try
 * and the arming is not missed), then waits for the wake-up, the next due time the engine
 * reported, or MAX_BLOCK_MS, and goes round. A paused queue without a wait is QueuePausedError;
 * with one, the wait goes on until resume or its end. The wait's length is measured on this
 * process's monotonic clock: it is this process's own wait, nothing crosses to the engine.
 */
export async function claimWithWait(driver: ClaimDriver, queue: string, req: ClaimRequest = {}, opts: {maxBlockMs?: number} = {}): Promise<Delivery | null> {
  const maxBlockMs = opts.maxBlockMs ?? MAX_BLOCK_MS
  const waitMs = req.waitMs ?? 0
  const first = await driver.tryClaim(queue, req.leaseMs)
  if ('delivery' in first) return first.delivery
  if ('paused' in first && waitMs <= 0) throw new QueuePausedError(queue)
  if (waitMs <= 0 || req.signal?.aborted) return null
  const until = performance.now() + waitMs
  for (;;) {
    const wakeup = await driver.watch(queue)
    try {
      const again = await driver.tryClaim(queue, req.leaseMs)
      if ('delivery' in again) return again.delivery
      const left = until - performance.now()
      if (left <= 0 || req.signal?.aborted) return null
      const due = 'empty' in again && again.nextDueInMs !== undefined ? Math.max(1, again.nextDueInMs + 1) : Number.POSITIVE_INFINITY
      await wakeup.wait(Math.max(1, Math.min(left, due, maxBlockMs)), req.signal)
    } finally {
      wakeup.close()
    }
  }
}

/**
 * Runs a push; while it fails with QueueFullError and waitMs has not run out, tries again every
 * pollMs (PushOptions.waitMs). The queue layer polls for room: a wake-up on every ack would cost
 * every consumer for the sake of a rare producer.
 */
export async function retryWhileFull<T>(waitMs: number | undefined, pollMs: number, push: () => Promise<T>): Promise<T> {
  const until = Date.now() + (waitMs ?? 0)
  for (;;) {
    try {
      return await push()
    } catch (error) {
      if (!(error instanceof QueueFullError) || Date.now() >= until) throw error
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, until - Date.now()))))
    }
  }
}

/**
 * The queue layer: the one implementation of the contract (src/backend.ts) that callers use
 * whatever the engine (commands, the worker, the library's open()), over a Driver
 * (src/backend.ts), which only makes transitions. It makes the contract's checks before a
 * driver is called, so that no engine can get them wrong:
 *
 * - every queue and topic name is valid (64 otherwise); an idempotency key comes with one
 *   message alone (64);
 * - inspection and administration of a queue that does not exist is NoSuchQueueError (66),
 *   answered here from the driver's `exists` (RACE: a queue dropped between the check and the
 *   driver's call is answered for as an empty queue: see drop);
 * - what a driver does not declare in its capabilities fails with NotSupportedError (78) and
 *   one line saying what, before the driver is asked: a push with a priority to an engine
 *   without priorities is refused, never stored without one. Listing topics on an engine that
 *   has none answers that there are none (true), subscribing is refused;
 * - claims run the one claim-and-wait loop (claimWithWait) over the driver's tryClaim and
 *   watch, and a push to a full queue waits for room here (retryWhileFull);
 * - a caller's times (notBefore, expiresAt: ms since epoch on this process's clock) become
 *   durations here, once; a driver adds them to its own clock.
 */
export class Queue implements Backend {
  constructor(readonly engine: Driver) {}

  get kind(): string {
    return this.engine.kind
  }

  get capabilities(): Capabilities {
    return this.engine.capabilities
  }

  get diagnostics() {
    return this.engine.diagnostics
  }

  async warnings(): Promise<string[]> {
    return (await this.engine.warnings?.()) ?? []
  }

  /** Refuses what the engine does not declare, naming the capability and what asked for it. */
  private need(capability: keyof Capabilities, what: string): void {
    if (!this.engine.capabilities[capability]) throw new NotSupportedError(this.engine.kind, what)
  }

  /** A valid name of a queue that exists (inspection and administration). */
  private async existing(queue: string): Promise<void> {
    validateQueueName(queue)
    if (!(await this.engine.exists(queue))) throw new NoSuchQueueError(queue)
  }

  async push(queue: string, messages: PushInput[], opts: PushOptions = {}) {
    validateQueueName(queue)
    if (messages.length !== 1 && messages.some((m) => m.key !== undefined)) throw new UsageError('an idempotency key applies to one message at a time')
    for (const m of messages) {
      if (m.priority) this.need('priorities', 'priorities (push --priority)')
      if (m.notBefore !== undefined) this.need('delays', 'delays (push --delay, --at)')
      if (m.key !== undefined) this.need('keys', 'idempotency keys (push --key)')
      if (m.expiresAt !== undefined) this.need('expiry', 'expiry (push --ttl)')
    }
    // A push that may be tried again (for room, or after a lost reply) needs its streamed bodies
    // whole, unless the driver leaves them unread when full.
    const mayRetry = ((opts.waitMs ?? 0) > 0 || this.engine.idempotentPush === true) && !this.engine.checksRoomFirst
    const max = this.engine.maxBodyBytes
    const bodies = mayRetry || max !== undefined ? await pushBodies(messages, max === undefined ? undefined : {bytes: max, kind: this.engine.kind, queue}) : undefined
    const now = Date.now()
    const driven = messages.map((m, i): DriverMessage => {
      const {expiresAt, notBefore, ...rest} = m
      return {
        ...rest,
        ...(bodies ? {body: bodies[i]} : {}),
        ...(notBefore === undefined ? {} : {delayMs: notBefore - now}),
        ...(expiresAt === undefined ? {} : {ttlMs: expiresAt - now}),
      }
    })
    const keyTtl = opts.keyTtlMs === undefined ? {} : {keyTtlMs: opts.keyTtlMs}
    return retryWhileFull(opts.waitMs, this.engine.roomPollMs ?? 50, () => this.pushOnce(queue, driven, keyTtl))
  }

  /**
   * One push, made exact when its reply is lost (ConnectionLostError: the request went out, the
   * answer did not come back). A driver with idempotentPush is given an attempt name, and the
   * push is sent once more with it on a new connection: the server stores an attempt once, and
   * answers the second try as it did the first. Without it, or when the second try is lost
   * too, the outcome is unknown (76), and said so: never "failed" for a push that may be stored.
   * RACE: the first try may still be running on the server when the second arrives; the
   * driver's attempt record is written in the same transition as the messages, so whichever
   * runs second finds it.
   */
  private async pushOnce(queue: string, messages: DriverMessage[], opts: {keyTtlMs?: number}) {
    const what = `push to ${queue}`
    const hint = 'look with mq peek before pushing again, or push with --key, which makes a retry safe'
    if (this.engine.idempotentPush !== true) {
      try {
        return await this.engine.push(queue, messages, opts)
      } catch (error) {
        if (error instanceof ConnectionLostError) throw new OutcomeUnknownError(what, `${error.message} after the push was sent: it may be stored`, hint)
        throw error
      }
    }
    const attempt = randomBytesFast(12).toString('hex')
    try {
      return await this.engine.push(queue, messages, {...opts, attempt})
    } catch (error) {
      if (!(error instanceof ConnectionLostError)) throw error
      try {
        return await this.engine.push(queue, messages, {...opts, attempt})
      } catch (again) {
        if (again instanceof ServerUnavailableError) throw new OutcomeUnknownError(what, `${error.message} after the push was sent, and trying again failed (${again.message}): it may be stored`, hint)
        throw again
      }
    }
  }

  /**
   * A settle (ack, release, renew, dead-letter) whose reply was lost is tried once more with
   * the same receipt (`again` true). A second answer of success is the truth. "Not in flight"
   * is the truth only where the driver says a repeated settle answers as the first did (`exact`:
   * PostgreSQL's ack, which keeps the token of a done message; a renewal); otherwise it may be
   * the first try's own doing, and the outcome is unknown (76).
   */
  private async settleOnce<T>(what: string, exact: boolean, settle: (again: boolean) => Promise<T>): Promise<T> {
    try {
      return await settle(false)
    } catch (error) {
      if (!(error instanceof ConnectionLostError)) throw error
      return this.settleAgain(what, exact, error, () => settle(true))
    }
  }

  /** The second try of a settle whose first reply was lost (`lost`): see settleOnce. */
  private async settleAgain<T>(what: string, exact: boolean, lost: ConnectionLostError, again: () => Promise<T>): Promise<T> {
    try {
      return await again()
    } catch (error) {
      if (error instanceof NotInFlightError && !exact) throw new OutcomeUnknownError(what, `${lost.message} after it was sent, and the message is no longer in flight under this receipt: the first try most likely took effect`, 'look with mq peek or mq stats; the message is not lost either way')
      if (error instanceof ServerUnavailableError) throw new OutcomeUnknownError(what, `${lost.message} after it was sent, and trying again failed (${error.message})`, 'if it did not take effect, the message is delivered again when its lease ends')
      throw error
    }
  }

  async claim(queue: string, req?: ClaimRequest): Promise<Delivery | null> {
    validateQueueName(queue)
    return claimWithWait(this.engine, queue, req)
  }
  async ack(queue: string, receipt: string) {
    validateQueueName(queue)
    return this.settleOnce(`ack in ${queue}`, this.engine.idempotentAck === true, (again) => this.engine.ack(queue, receipt, again ? {again} : undefined))
  }

  /**
   * ack, then the next claim, without waiting. With a driver that makes the two one transition,
   * one round trip; a lost reply is settled as ack's is (the claim it may have made comes back
   * when its lease ends: next is null).
   */
  async ackAndClaim(queue: string, receipt: string, req: {leaseMs?: number} = {}): Promise<{id: string; next: Delivery | null}> {
    validateQueueName(queue)
    const both = this.engine.ackAndClaim?.bind(this.engine)
    if (both) {
      try {
        const {id, next} = await both(queue, receipt, req.leaseMs)
        return {id, next: 'delivery' in next ? next.delivery : null}
      } catch (error) {
        if (!(error instanceof ConnectionLostError)) throw error
        return {id: await this.settleAgain(`ack in ${queue}`, this.engine.idempotentAck === true, error, () => this.engine.ack(queue, receipt, {again: true})), next: null}
      }
    }
    const id = await this.ack(queue, receipt)
    const next = await this.engine.tryClaim(queue, req.leaseMs)
    return {id, next: 'delivery' in next ? next.delivery : null}
  }

  async release(queue: string, receipt: string, opts?: ReleaseOptions) {
    validateQueueName(queue)
    if (opts?.delayMs) this.need('delays', 'delays (nack --delay, retry backoff)')
    return this.settleOnce(`nack in ${queue}`, false, () => this.engine.release(queue, receipt, opts))
  }

  async renew(queue: string, receipt: string, leaseMs?: number) {
    validateQueueName(queue)
    // A renewal tried again renews again: still in flight under the receipt, or truly not.
    return this.settleOnce(`renew in ${queue}`, true, () => this.engine.renew(queue, receipt, leaseMs))
  }

  async deadLetter(queue: string, receipt: string, failure?: Failure) {
    validateQueueName(queue)
    return this.settleOnce(`dead-letter in ${queue}`, false, () => this.engine.deadLetter(queue, receipt, failure))
  }

  async peek(queue: string, req: PeekRequest) {
    await this.existing(queue)
    if (req.state === 'done') this.need('keepsDone', 'peek --state done (acked messages are not kept)')
    if (req.state !== 'dead') this.need('inspect', `peek --state ${req.state} (only a queue's head can be reached, and reaching it counts a delivery; peek --state dead works)`)
    return this.engine.peek(queue, req)
  }

  async stats(queue?: string) {
    if (queue === undefined) this.need('listing', 'stats of every queue (queues cannot be listed: name one, mq stats QUEUE)')
    if (queue !== undefined) await this.existing(queue)
    return this.engine.stats(queue)
  }

  async exists(queue: string) {
    validateQueueName(queue)
    return this.engine.exists(queue)
  }

  async getConfig(queue: string) {
    await this.existing(queue)
    return this.engine.getConfig(queue)
  }

  async setConfig(queue: string, patch: QueueConfigPatch) {
    validateQueueName(queue)
    if (patch.maxDepth !== undefined && patch.maxDepth !== null) this.need('maxDepth', 'bounded queues (config --max-depth)')
    return this.engine.setConfig(queue, patch)
  }

  async pause(queue: string) {
    validateQueueName(queue)
    this.need('pause', 'pause')
    await this.existing(queue)
    return this.engine.pause(queue)
  }

  async resume(queue: string) {
    validateQueueName(queue)
    this.need('pause', 'resume')
    await this.existing(queue)
    return this.engine.resume(queue)
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void) {
    await this.existing(queue)
    return this.engine.purge(queue, states, onProgress)
  }

  async requeue(queue: string, ids?: string[]) {
    await this.existing(queue)
    return this.engine.requeue(queue, ids)
  }

  async gc(queue: string, opts: GcOptions, onProgress?: (n: number) => void) {
    await this.existing(queue)
    return this.engine.gc(queue, opts, onProgress)
  }

  /** A message id as the engines mint them; anything else is a DataError (65), never "not found". */
  private checkIds(queue: string, ids: string[]): void {
    for (const id of ids) if (!ID_PATTERN.test(id)) throw new DataError(`${queue}: ${JSON.stringify(id)} is not a message id`)
  }

  async show(queue: string, id: string, opts?: {body?: boolean}) {
    this.need('inspect', 'show (a message is reached only at its queue\'s head)')
    await this.existing(queue)
    this.checkIds(queue, [id])
    return this.engine.show(queue, id, opts)
  }

  /**
   * What became of each id: the driver's own answer where it has one (an engine that does not
   * keep acked messages), else each message's state.
   */
  async fates(queue: string, ids: string[]): Promise<Fate[]> {
    this.need('inspect', 'wait (a message is reached only at its queue\'s head, and acked messages are not kept)')
    await this.existing(queue)
    this.checkIds(queue, ids)
    if (this.engine.fates) return this.engine.fates(queue, ids)
    return Promise.all(ids.map(async (id) => fateOf((await this.engine.show(queue, id))?.state)))
  }

  async cancel(queue: string, ids: string[]) {
    this.need('inspect', 'cancel (a message is reached only at its queue\'s head)')
    await this.existing(queue)
    this.checkIds(queue, ids)
    return this.engine.cancel(queue, ids)
  }

  /**
   * RACE: a queue dropped while another process works on it: a push or a claim after the drop
   * makes a new, empty queue (as the first push ever did); an inspection that passed the
   * existence check just before the drop answers for an empty queue.
   */
  async drop(queue: string) {
    await this.existing(queue)
    return this.engine.drop(queue)
  }

  async subscribe(topic: string, queue: string) {
    validateQueueName(topic)
    validateQueueName(queue)
    this.need('topics', 'topics (subscribe)')
    return this.engine.subscribe(topic, queue)
  }

  async unsubscribe(topic: string, queue: string) {
    validateQueueName(topic)
    validateQueueName(queue)
    this.need('topics', 'topics (unsubscribe)')
    return this.engine.unsubscribe(topic, queue)
  }

  async subscribers(topic: string) {
    validateQueueName(topic)
    // An engine without topics has none: the name is no topic (true, not a guess).
    return this.engine.capabilities.topics ? this.engine.subscribers(topic) : undefined
  }

  async topics() {
    if (this.engine.capabilities.topics) this.need('listing', 'listing topics (only a named topic can be looked up)')
    return this.engine.capabilities.topics ? this.engine.topics() : []
  }

  get ackClaimsInOne(): boolean {
    return this.engine.ackAndClaim !== undefined
  }

  hint(h: {concurrency: number}): void {
    this.engine.hint?.(h)
  }

  close(): Promise<void> {
    return this.engine.close()
  }
}
