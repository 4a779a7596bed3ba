import {
  ALL_CAPABILITIES,
  type ClaimAttempt,
  type Diagnostics,
  type Driver,
  type DriverMessage,
  type Failure,
  type Fate,
  type GcOptions,
  type GcResult,
  type MessageState,
  type PeekRequest,
  type PurgeState,
  type PushInput,
  type QueueConfig,
  type QueueConfigPatch,
  type ReleaseOptions,
  type Wakeup,
  fateOf,
} from '../../backend.js'
import {NotInFlightError} from '../../errors.js'
import {gcQueue, gcTopicDir, isPaused, pauseQueue, purgeQueue, requeueDead, resumeQueue} from '../../spool/admin.js'
import {ackMessage} from '../../spool/ack.js'
import {ClaimCursor, claimNext} from '../../spool/claim.js'
import {readQueueConfig, updateQueueConfig} from '../../spool/config.js'
import {checkSpoolRoot, createQueue, queueExists} from '../../spool/create-queue.js'
import {rejectDelivery} from '../../spool/dead-letter.js'
import {ensureFormat} from '../../spool/format.js'
import {cancelMessages} from '../../spool/cancel.js'
import {dropQueue} from '../../spool/drop.js'
import {findMessages, listQueueNames, peekMessages, quarantinedCount, queueStats, showMessage} from '../../spool/inspect.js'
import {QueueDirs} from '../../spool/layout.js'
import {withQueueLock} from '../../spool/lock.js'
import {pushMessages} from '../../spool/push.js'
import {setQuarantineLogger} from '../../spool/quarantine.js'
import {parseReceipt} from '../../spool/receipt.js'
import {recordFailure} from '../../spool/failures.js'
import {releaseMessage} from '../../spool/release.js'
import {renewLease} from '../../spool/renew.js'
import {pushToTopic, subscribe, subscribersOf, topicDir, topicNames, unsubscribe} from '../../spool/topics.js'
import {Wakeup as Watches} from '../../spool/wait.js'
import {SpoolDelivery} from './delivery.js'

/** How long a process uses a queue's config before reading it again. */
export const CONFIG_TTL_MS = 1000

export interface SpoolOptions {
  /** Lines for people (a quarantined file...); default: nowhere. The CLI points it at stderr. */
  onNotice?: (line: string) => void
}

/**
 * The spool (a directory, man/mq-spool.5) as an engine: each method is one call into
 * src/spool/, where the transitions and their contracts live. The work is synchronous; the
 * methods are async only to fit the contract.
 *
 * Receipts are the claimed file's name at the claim; this object remembers where it renamed a
 * delivery's file since (a renewal), so that settling it needs no search. Another process
 * holding the same receipt finds the file by its token (src/spool/receipt.ts).
 */
export class SpoolBackend implements Driver {
  readonly kind = 'spool'
  readonly capabilities = ALL_CAPABILITIES
  /** A push checks every target's bound before it reads a streamed body (src/spool/push.ts, step 0). */
  readonly checksRoomFirst = true
  /** Room in a full queue is looked for every 200 ms (a look counts directories). */
  readonly roomPollMs = 200
  readonly diagnostics: Diagnostics
  private rootChecked = false
  /** receipt -> where this process last renamed the delivery's file (renewals). */
  private readonly moved = new Map<string, string>()
  /** Per queue: its directories, and what claims remember between them (src/spool/claim.ts). */
  private readonly queues = new Map<string, {cursor: ClaimCursor; dirs: QueueDirs; exists?: boolean; config?: {at: number; value: QueueConfig}}>()

  constructor(
    readonly root: string,
    opts: SpoolOptions = {},
  ) {
    if (opts.onNotice) setQuarantineLogger(opts.onNotice)
    this.diagnostics = {
      quarantined: async (queue) => quarantinedCount(this.dirs(queue)),
      sweepAbandoned: async (olderThanMs) => {
        checkSpoolRoot(this.root)
        let n = 0
        for (const topic of topicNames(this.root)) n += gcTopicDir(topicDir(this.root, topic), {doneOlderThanMs: 0, tmpOlderThanMs: olderThanMs}).tmp
        return n
      },
    }
  }

  /**
   * The queue's directories. The first use checks that the spool, when it exists, is a
   * directory (78 otherwise, and nothing is created in or beside it).
   */
  dirs(queue: string): QueueDirs {
    return this.queue(queue).dirs
  }

  private queue(queue: string) {
    let entry = this.queues.get(queue)
    if (!entry) {
      if (!this.rootChecked) {
        checkSpoolRoot(this.root)
        this.rootChecked = true
      }
      entry = {cursor: new ClaimCursor(), dirs: new QueueDirs(this.root, queue)}
      this.queues.set(queue, entry)
    }
    return entry
  }

  /**
   * The queue's config as claims and releases use it: read again at most once a second, so a
   * change by `mq config` reaches running consumers within a second.
   */
  private policy(queue: string, now = Date.now()): QueueConfig {
    const entry = this.queue(queue)
    if (!entry.config || now - entry.config.at >= CONFIG_TTL_MS) entry.config = {at: now, value: readQueueConfig(entry.dirs)}
    return entry.config.value
  }

  /** A message of this queue falls due at `at`: this process's next claim after that sweeps. */
  private noteDue(queue: string, at: number): void {
    const {cursor} = this.queue(queue)
    if (at < cursor.nextSweepAt) cursor.nextSweepAt = at
  }

  /**
   * Whether the queue exists; once it does, this process remembers it (a drop by another
   * process is then answered for as an empty queue: see the queue layer's drop).
   */
  private queueExists(queue: string): boolean {
    const entry = this.queue(queue)
    if (!entry.exists) entry.exists = queueExists(entry.dirs)
    return entry.exists
  }

  /**
   * The queue's directories, for a change: the first change this process makes to the spool
   * upgrades it to the current format first (src/spool/format.ts), and a state directory that
   * is a link or a file is quarantined before it is used (src/spool/create-queue.ts). Reading
   * never writes.
   */
  private writable(queue: string): QueueDirs {
    const q = this.dirs(queue)
    ensureFormat(this.root)
    // Its state directories are real ones (looked at again at most once a second).
    if (this.queueExists(queue)) createQueue(q)
    return q
  }

  /**
   * A name with subscribers is a topic (fan-out); anything else is a queue. Delays and expiry
   * are added to this host's clock, the one the spool's names and headers are read against.
   */
  async push(queue: string, messages: DriverMessage[], opts: {keyTtlMs?: number} = {}) {
    this.writable(queue)
    const now = Date.now()
    const inputs = messages.map(({delayMs, ttlMs, ...m}): PushInput => ({
      ...m,
      ...(delayMs !== undefined && delayMs > 0 ? {notBefore: now + delayMs} : {}),
      ...(ttlMs === undefined ? {} : {expiresAt: now + ttlMs}),
    }))
    const subs = subscribersOf(this.root, queue)
    const pushed = await (subs === undefined ? pushMessages(this.dirs(queue), inputs, opts) : pushToTopic(this.root, queue, subs, inputs, opts))
    // This process's own delayed messages are promoted by its claims when they are due.
    for (const [i, p] of pushed.entries()) {
      const due = inputs[i]?.notBefore
      if (p.state === 'delayed' && due !== undefined) for (const name of subs ?? [queue]) this.noteDue(name, due)
    }
    return pushed
  }

  /** One claim attempt: a delivery, paused (the marker file), or empty (a queue not made yet too). */
  async tryClaim(queue: string, leaseMs?: number): Promise<ClaimAttempt> {
    const q = this.writable(queue)
    if (!this.queueExists(queue)) return {empty: true}
    if (isPaused(q)) return {paused: true}
    const config = this.policy(queue)
    const claim = claimNext(q, {leaseMs: leaseMs ?? config.leaseMs, maxAttempts: config.maxAttempts}, this.queue(queue).cursor)
    return claim ? {delivery: new SpoolDelivery(queue, claim, this.moved)} : {empty: true}
  }

  /**
   * inotify watches on the queue's directories, armed now (wait.ts; with a 1 s poll as the
   * fallback). The queue directory is among them, so a resume wakes it too.
   */
  async watch(queue: string): Promise<Wakeup> {
    const w = new Watches(this.writable(queue))
    return {close: () => w.close(), wait: (ms, signal) => w.wait(Date.now() + ms, signal)}
  }

  async ack(queue: string, receipt: string) {
    return this.settle(receipt, () => ackMessage(this.writable(queue), receipt, {known: this.moved.get(receipt)}))
  }

  async release(queue: string, receipt: string, opts: ReleaseOptions = {}) {
    const q = this.writable(queue)
    const {maxAttempts} = this.policy(queue)
    const r = this.settle(receipt, () => releaseMessage(q, receipt, {...opts, known: this.moved.get(receipt), maxAttempts}))
    if (r.state !== 'dead' && opts.failure) recordFailure(q, r.id, opts.failure, Date.now())
    // Given back to its old place: this process's listings no longer say what comes first;
    // given back for later: this process's claims promote it when it is due.
    const {cursor} = this.queue(queue)
    cursor.invalidate()
    if (r.notBefore !== undefined) cursor.nextSweepAt = Math.min(cursor.nextSweepAt, r.notBefore)
    return r
  }

  async renew(queue: string, receipt: string, leaseMs?: number) {
    const q = this.writable(queue)
    const granted = leaseMs ?? this.policy(queue).leaseMs
    const r = this.settle(receipt, () => renewLease(q, receipt, granted, this.moved.get(receipt)), false)
    this.moved.set(receipt, r.path)
    return granted
  }

  async deadLetter(queue: string, receipt: string, failure: Failure = {}) {
    this.settle(receipt, () => rejectDelivery(this.writable(queue), receipt, failure, this.moved.get(receipt)))
  }

  /** Runs a settlement; the delivery is over afterwards (or found not in flight): forget where its file was. */
  private settle<T>(receipt: string, fn: () => T, ends = true): T {
    try {
      const r = fn()
      if (ends) this.moved.delete(receipt)
      return r
    } catch (error) {
      if (error instanceof NotInFlightError) this.moved.delete(receipt)
      throw error
    }
  }

  async peek(queue: string, req: PeekRequest) {
    return peekMessages(this.dirs(queue), req.state as MessageState, req.limit, Boolean(req.bodies))
  }

  async stats(queue?: string) {
    if (queue !== undefined) return [queueStats(this.dirs(queue))]
    checkSpoolRoot(this.root)
    return listQueueNames(this.root).map((name) => queueStats(this.dirs(name)))
  }

  async exists(queue: string) {
    return queueExists(this.dirs(queue))
  }

  async close() {}

  // ---- administration ----

  async getConfig(queue: string) {
    return readQueueConfig(this.dirs(queue))
  }

  async setConfig(queue: string, patch: QueueConfigPatch) {
    const q = this.dirs(queue)
    createQueue(q)
    const config = await updateQueueConfig(q, patch)
    this.queue(queue).config = {at: Date.now(), value: config}
    return config
  }

  async pause(queue: string) {
    const q = this.dirs(queue)
    createQueue(q)
    pauseQueue(q)
  }

  async resume(queue: string) {
    return resumeQueue(this.dirs(queue))
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void) {
    const q = this.dirs(queue)
    return withQueueLock(q, 'maintenance', () => purgeQueue(q, states, onProgress))
  }

  async requeue(queue: string, ids?: string[]) {
    const q = this.dirs(queue)
    return withQueueLock(q, 'maintenance', () => requeueDead(q, ids))
  }

  async gc(queue: string, opts: GcOptions, onProgress?: (n: number) => void): Promise<GcResult> {
    const q = this.dirs(queue)
    return withQueueLock(q, 'maintenance', () => gcQueue(q, opts, onProgress))
  }

  async show(queue: string, id: string, opts: {body?: boolean} = {}) {
    return showMessage(this.dirs(queue), id, Boolean(opts.body))
  }

  /** What became of each id, in one scan of the queue (not one per id). */
  async fates(queue: string, ids: string[]): Promise<Fate[]> {
    const found = findMessages(this.dirs(queue), ids)
    return ids.map((id) => fateOf(found.get(id)?.state))
  }

  async cancel(queue: string, ids: string[]) {
    return cancelMessages(this.dirs(queue), ids)
  }

  async drop(queue: string) {
    const n = dropQueue(this.dirs(queue))
    this.queues.delete(queue) // no longer known to exist
    return n
  }

  async subscribe(topic: string, queue: string) {
    return subscribe(this.root, topic, queue)
  }

  async unsubscribe(topic: string, queue: string) {
    unsubscribe(this.root, topic, queue)
  }

  async subscribers(topic: string) {
    checkSpoolRoot(this.root)
    return subscribersOf(this.root, topic)
  }

  async topics() {
    checkSpoolRoot(this.root)
    return topicNames(this.root)
  }
}

export {parseReceipt}
