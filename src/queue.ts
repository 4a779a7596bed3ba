import {
  type Backend,
  type Capabilities,
  type ClaimDriver,
  type ClaimRequest,
  type Delivery,
  type Failure,
  type GcOptions,
  type PeekRequest,
  type PurgeState,
  type PushInput,
  type PushOptions,
  type QueueConfigPatch,
  type ReleaseOptions,
} from './backend.js'
import {NotSupportedError, QueuePausedError} from './errors.js'
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
 * The queue layer: the one implementation of the contract (src/backend.ts) that callers use
 * whatever the engine (commands, the worker, the library's open()). It checks what is the
 * contract's business before an engine is called, so that no engine can get it wrong:
 *
 * - every queue and topic name is valid (64 otherwise);
 * - what an engine does not declare in its capabilities fails with NotSupportedError (78) and
 *   one line saying what, before the engine is asked: a push with a priority to an engine
 *   without priorities is refused, never stored without one. Listing topics on an engine that
 *   has none answers that there are none (true), subscribing is refused.
 *
 * - claims run the one claim-and-wait loop (claimWithWait) over the engine's tryClaim and watch.
 *
 * Engines are the drivers under it. They still implement the rest of the contract themselves
 * (existence checks, inspection, administration); narrowing them to primitives is the rest of
 * issue 19 (README, Not built yet).
 */
export class Queue implements Backend {
  constructor(readonly engine: Backend) {}

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

  async push(queue: string, messages: PushInput[], opts?: PushOptions) {
    validateQueueName(queue)
    for (const m of messages) {
      if (m.priority) this.need('priorities', 'priorities (push --priority)')
      if (m.notBefore !== undefined) this.need('delays', 'delays (push --delay, --at)')
      if (m.key !== undefined) this.need('keys', 'idempotency keys (push --key)')
      if (m.expiresAt !== undefined) this.need('expiry', 'expiry (push --ttl)')
    }
    return this.engine.push(queue, messages, opts)
  }

  async claim(queue: string, req?: ClaimRequest): Promise<Delivery | null> {
    validateQueueName(queue)
    const e = this.engine as Backend & Partial<ClaimDriver>
    // The one loop over engines that give their transitions; an engine that waits by itself as a whole (a library user's) as it is.
    return e.tryClaim && e.watch ? claimWithWait(e as ClaimDriver, queue, req) : this.engine.claim(queue, req)
  }

  async ack(queue: string, receipt: string) {
    validateQueueName(queue)
    return this.engine.ack(queue, receipt)
  }

  async release(queue: string, receipt: string, opts?: ReleaseOptions) {
    validateQueueName(queue)
    if (opts?.delayMs) this.need('delays', 'delays (nack --delay, retry backoff)')
    return this.engine.release(queue, receipt, opts)
  }

  async renew(queue: string, receipt: string, leaseMs?: number) {
    validateQueueName(queue)
    return this.engine.renew(queue, receipt, leaseMs)
  }

  async deadLetter(queue: string, receipt: string, failure?: Failure) {
    validateQueueName(queue)
    return this.engine.deadLetter(queue, receipt, failure)
  }

  async peek(queue: string, req: PeekRequest) {
    validateQueueName(queue)
    if (req.state === 'done') this.need('keepsDone', 'peek --state done (acked messages are not kept)')
    return this.engine.peek(queue, req)
  }

  async stats(queue?: string) {
    if (queue !== undefined) validateQueueName(queue)
    return this.engine.stats(queue)
  }

  async exists(queue: string) {
    validateQueueName(queue)
    return this.engine.exists(queue)
  }

  async getConfig(queue: string) {
    validateQueueName(queue)
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
    return this.engine.pause(queue)
  }

  async resume(queue: string) {
    validateQueueName(queue)
    this.need('pause', 'resume')
    return this.engine.resume(queue)
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void) {
    validateQueueName(queue)
    return this.engine.purge(queue, states, onProgress)
  }

  async requeue(queue: string, ids?: string[]) {
    validateQueueName(queue)
    return this.engine.requeue(queue, ids)
  }

  async gc(queue: string, opts: GcOptions, onProgress?: (n: number) => void) {
    validateQueueName(queue)
    return this.engine.gc(queue, opts, onProgress)
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
    return this.engine.capabilities.topics ? this.engine.topics() : []
  }

  close(): Promise<void> {
    return this.engine.close()
  }
}
