import {type Readable} from 'node:stream'

/**
 * The contract between mq's commands (and library users) and the engines that keep queues: the
 * spool (src/backends/spool/), the in-memory reference (src/backends/memory/), and the servers.
 * Everything here is in a queue's words; nothing says how an engine stores it.
 * test/behaviour/ is its executable specification: one suite, run against every engine.
 *
 * Errors are the typed errors of src/errors.ts, the same from every engine:
 *   NotInFlightError (66)   the receipt names no delivery in flight now
 *   NoSuchQueueError (66)   an inspection or administration of a queue that does not exist
 *   NotSupportedError (78)  the engine cannot do this (see Capabilities); never a wrong answer
 *   QueueFullError (75), QueuePausedError (69), NoSubscribersError (69), UsageError (64)...
 */

/** Where a message is: deliverable now, waiting for its time, claimed, dead-lettered, acked. */
export type MessageState = 'dead' | 'delayed' | 'done' | 'inflight' | 'ready'

/** States that purge can empty (in-flight messages belong to their consumers). */
export type PurgeState = Exclude<MessageState, 'inflight'>

/** A body: bytes, or a stream of them (engines that can, write it as it arrives). */
export type BodySource = AsyncIterable<Uint8Array> | Uint8Array

/** What a message carries besides its body; immutable once pushed. */
export interface MessageMeta {
  /** Idempotency key given at push. */
  key?: string
  /** User headers, NAME to VALUE. */
  headers?: Record<string, string>
  /** Not to be delivered after this time (ms since epoch); dead-lettered (reason expired) instead. */
  expiresAt?: number
  /** The topic this copy was fanned out from (set by the engine). */
  topic?: string
}

export interface PushInput extends Omit<MessageMeta, 'topic'> {
  body: BodySource
  /** 0..9, larger is claimed first (with aging: see src/policy.ts). */
  priority?: number
  /** Not deliverable before this time (ms since epoch). */
  notBefore?: number
  /** A streamed body that turns out empty is refused (NoInputError) unless this is set. */
  allowEmpty?: boolean
}

export interface PushOptions {
  /** With a key: how long it holds (default 24h). */
  keyTtlMs?: number
  /** When the queue is full, wait up to this long for room (default: fail at once, 75). */
  waitMs?: number
}

export interface Pushed {
  id: string
  state: 'delayed' | 'ready'
  /** The key was held: nothing was written, and `id` is the holder's message. */
  duplicate?: boolean
}

export interface ClaimRequest {
  /** The lease; default: the queue's (QueueConfig.leaseMs). */
  leaseMs?: number
  /** Wait up to this long for a message (0 or absent: do not wait). */
  waitMs?: number
  /** Ends a wait early (the claim then returns null). */
  signal?: AbortSignal
}

/**
 * One delivery of one message: what a consumer needs to process it and settle it. `receipt`
 * names this delivery, for the whole of it (renewals keep it); it is opaque to callers.
 */
export interface Delivery extends MessageMeta {
  queue: string
  id: string
  receipt: string
  /** This delivery's number, 1 for the first. */
  attempt: number
  priority: number
  /** When it was pushed (ms since epoch). */
  enqueuedAt: number
  /**
   * The lease this delivery got, as a duration: what a consumer renews with. Time is the
   * engine's (a server's clock, not the consumer's): never derive a duration from leaseUntil
   * and this process's clock (a consumer whose clock runs ahead would renew with nothing).
   */
  leaseMs: number
  /** When this lease ends, on the engine's clock, as of the claim: for people, not arithmetic. */
  leaseUntil: number
  /** The body's size in bytes. */
  size: number
  /** The whole body in memory (engines that keep bodies in files read it on first access). */
  readonly body: Buffer
  /** The body as a stream: memory stays flat whatever its size. */
  openBody(): Readable
  /**
   * An open file descriptor positioned at the body's first byte, for handing the body to another
   * process as a file; the caller closes it. Only engines that keep bodies in files offer it.
   */
  bodyFd?(): number
}

/** How a delivery failed, in words and facts, for the dead-letter reason. */
export interface Failure {
  /** e.g. "exit status 3", "killed by SIGKILL", "timed out after 30s". */
  lastError?: string
  exitCode?: number
  signal?: string
  /** The tail of the handler's stderr. */
  stderrTail?: string
}

/** Why a message is a dead letter. */
export interface DeadReason extends Failure {
  /** max_attempts: deliveries ran out; rejected: dead-lettered on request; expired: its expiry passed. */
  reason: 'expired' | 'max_attempts' | 'rejected'
  /** Deliveries made. */
  attempts: number
  /** When it was dead-lettered (ms since epoch). */
  at: number
}

export interface ReleaseOptions {
  /** Ready again after this long (0: at once). */
  delayMs?: number
  /**
   * The delivery does not count toward max attempts (a consumer shutting down under a running
   * handler: not the message's fault). An uncounted release never dead-letters.
   */
  uncount?: boolean
  /** Why this delivery failed; kept in the dead-letter reason if the release dead-letters it. */
  failure?: Failure
}

export interface Released {
  id: string
  /**
   * 'dead' when this was the queue's last allowed delivery (QueueConfig.maxAttempts): a
   * counted release then dead-letters the message (reason max_attempts) instead of giving it back.
   */
  state: 'dead' | 'delayed' | 'ready'
  /** For 'delayed': when it is due again. */
  notBefore?: number
}

export interface MessageInfo extends MessageMeta {
  id: string
  state: MessageState
  /** Deliveries so far. */
  attempt: number
  priority: number
  enqueuedAt: number
  notBefore?: number
  leaseUntil?: number
  /** Body size in bytes. */
  size: number
  reason?: DeadReason
  /**
   * Why its last delivery failed, when it was given back to be tried again (a release with a
   * failure: the worker's retry), and when. Shown by `show` (engines keep it until the message
   * is acked, dead or requeued); peek may leave it out.
   */
  lastFailure?: Failure & {at: number}
  /** With peek's bodies option. */
  body?: Buffer
}

export interface PeekRequest {
  state: MessageState
  limit: number
  bodies?: boolean
}

export interface QueueStats {
  queue: string
  ready: number
  /** null: the engine cannot tell (RabbitMQ: see `unknown`); never a 0 that is not known. */
  inflight: number | null
  /** null: the engine cannot tell. */
  delayed: number | null
  /** null: the engine cannot tell. */
  done: number | null
  dead: number
  /** Age in ms of the oldest ready message (by enqueue time), null when none is ready (or, listed in `unknown`, when the engine cannot tell). */
  oldestReadyAgeMs: number | null
  paused: boolean
  /** The fields this engine cannot know (shown as unknown, never as 0); absent when it knows them all. */
  unknown?: Array<'delayed' | 'done' | 'inflight' | 'oldestReadyAgeMs'>
}

/** A queue's policy: the same for every producer and consumer of the queue. */
export interface QueueConfig {
  /** Pushes that would make ready + delayed + in-flight exceed this fail with QueueFullError. */
  maxDepth?: number
  /** Deliveries before a message is dead-lettered instead of delivered again (default 5). */
  maxAttempts: number
  /** The lease a claim gets when it asks for none (default 5 minutes). */
  leaseMs: number
}

/** A change to a queue's config: a value sets it, null removes it (back to the default or no limit). */
export type QueueConfigPatch = {[K in keyof QueueConfig]?: number | null}

export interface Requeued {
  /** The ids moved back to ready, in id order. */
  requeued: string[]
  /** Those of them whose expiry had passed: they come back without one. */
  expiryCleared: string[]
}

/** What `cancel` did with each id it was given. */
export interface Cancelled {
  /** Removed: they were ready or delayed. */
  cancelled: string[]
  /** Not removed, with the state that stopped it: in flight (its consumer's), dead, done. */
  refused: Array<{id: string; state: MessageState}>
  /** No message of the queue has this id. */
  unknown: string[]
}

/**
 * What became of a message, for `mq wait`: still to be handled (ready, delayed, in flight),
 * done, dead, or unknown (no such message, or one acked long enough ago that an engine which
 * does not keep acked messages has forgotten it).
 */
export type Fate = 'dead' | 'done' | 'pending' | 'unknown'

/** The fate a message in this state has had so far (undefined: no such message). */
export function fateOf(state: MessageState | undefined): Fate {
  return state === undefined ? 'unknown' : state === 'done' || state === 'dead' ? state : 'pending'
}

/** A cancel's outcome for each id ('cancelled', 'unknown', or the state that refused it), as Cancelled. */
export function cancelledFrom(outcomes: Array<[id: string, outcome: string]>): Cancelled {
  const out: Cancelled = {cancelled: [], refused: [], unknown: []}
  for (const [id, outcome] of outcomes) {
    if (outcome === 'cancelled') out.cancelled.push(id)
    else if (outcome === 'unknown') out.unknown.push(id)
    else out.refused.push({id, state: outcome as MessageState})
  }
  return out
}

export interface GcOptions {
  /** Remove acked messages kept longer than this. */
  doneOlderThanMs: number
  /** Remove partial writes (producers that died) older than this, where an engine has them. */
  tmpOlderThanMs: number
}

export interface GcResult {
  /** Acked messages removed. */
  done: number
  /** Idempotency keys released (expired, or taken by a producer that died). */
  keys: number
  /** Partial writes of producers that died, removed, where an engine has them (the spool's tmp/). */
  tmp?: number
}

/**
 * What an engine can do. The behaviour suite skips what is not declared and checks that the
 * operation then fails with NotSupportedError, never with a wrong answer.
 */
export interface Capabilities {
  /** Messages are shared by processes (and hosts): pushed by one, claimed by another. */
  sharedMessages: boolean
  /**
   * A receipt settles its delivery from any process (and host), not only the one that claimed
   * it: `mq pop` in one process, `mq ack` in another. An engine that binds a delivery to the
   * connection that received it (RabbitMQ's channels) shares messages but not receipts.
   */
  portableReceipts: boolean
  /** Acked messages are kept until gc (peek and purge of state 'done'). */
  keepsDone: boolean
  /**
   * Messages can be looked at without disturbing them: peek (of any state but dead, which
   * every engine shows), show, wait (fates) and cancel. RabbitMQ reaches only a queue's head.
   */
  inspect: boolean
  /** The queues and topics can be listed: stats of every queue, mq queues, mq topics, subscribers, the dashboard. */
  listing: boolean
  /** A claim with waitMs wakes when another process pushes (not only by polling). */
  blockingWait: boolean
  delays: boolean
  priorities: boolean
  keys: boolean
  topics: boolean
  maxDepth: boolean
  expiry: boolean
  pause: boolean
}

/** Engine-specific findings that have no place in a queue's words (the spool's quarantine). */
export interface Diagnostics {
  /** Entries set aside as damage (the spool's bad/). */
  quarantined(queue: string): Promise<number>
  /** Remove partial writes of producers that died, older than olderThanMs, outside queues (topics). */
  sweepAbandoned(olderThanMs: number): Promise<number>
}

/**
 * The queue operations every engine provides. `queue` is a valid queue name (src/queue-name.ts).
 */
export interface Backend {
  /** 'spool', 'memory', 'redis', 'postgres', 'rabbitmq'. */
  readonly kind: string
  readonly capabilities: Capabilities
  /** Engine-specific findings, where an engine has any. */
  readonly diagnostics?: Diagnostics
  /**
   * Lines for people about promises the engine's setup weakens (a server that keeps nothing on
   * disk, or evicts keys). `mq stats` prints them on stderr. Engines with nothing to say omit it.
   */
  warnings?(): Promise<string[]>

  /** Durably enqueue (to every subscriber, if `queue` is a topic); returns once every message is stored. */
  push(queue: string, messages: PushInput[], opts?: PushOptions): Promise<Pushed[]>
  /**
   * Claim the next ready message under a lease, or null (after waiting, if asked). Expired leases
   * and due delays come back by themselves (no daemon). A message already delivered max-attempts
   * times is dead-lettered instead of delivered; one past its expiry too. A paused queue yields
   * QueuePausedError without a wait, and nothing until resumed with one.
   */
  claim(queue: string, req?: ClaimRequest): Promise<Delivery | null>
  /** Finish a delivery; returns the message id. */
  ack(queue: string, receipt: string): Promise<string>
  /**
   * Finish a delivery and claim the next message (without waiting: null when none is
   * deliverable now, or the queue is paused): one round trip where the engine allows it, the
   * loop of a worker in a program. When the ack fails, nothing is claimed.
   */
  ackAndClaim(queue: string, receipt: string, req?: {leaseMs?: number}): Promise<{id: string; next: Delivery | null}>
  /**
   * Whether ackAndClaim is one transition of the engine (one round trip), not an ack and then
   * a claim: a worker then takes its next message with the last one's ack (mq consume).
   */
  readonly ackClaimsInOne?: boolean
  /** Give a delivery back (see ReleaseOptions, and Released.state 'dead'). */
  release(queue: string, receipt: string, opts?: ReleaseOptions): Promise<Released>
  /**
   * Extend a delivery's lease to the engine's now + leaseMs (default: the queue's lease);
   * returns the lease granted, as a duration (ms), never a deadline on someone's clock.
   */
  renew(queue: string, receipt: string, leaseMs?: number): Promise<number>
  /** Dead-letter a delivery now (reason rejected), keeping why. */
  deadLetter(queue: string, receipt: string, failure?: Failure): Promise<void>

  /** Up to limit messages of one state, in delivery order. */
  peek(queue: string, req: PeekRequest): Promise<MessageInfo[]>
  /** Stats of one queue, or of every queue when none is named. */
  stats(queue?: string): Promise<QueueStats[]>
  /** Whether the queue exists (it was pushed to, subscribed, or configured). */
  exists(queue: string): Promise<boolean>

  getConfig(queue: string): Promise<QueueConfig>
  /** Changes a queue's config (creating the queue); returns the new config. */
  setConfig(queue: string, patch: QueueConfigPatch): Promise<QueueConfig>
  pause(queue: string): Promise<void>
  /** Returns false when the queue was not paused. */
  resume(queue: string): Promise<boolean>
  purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>>
  /**
   * Dead letters back to ready (all, or the given ids), delivery count reset; a message whose
   * expiry has passed comes back without it (it would only die again at once: a requeue is a
   * decision to deliver it late). Returns the ids moved, and which of them lost their expiry.
   */
  requeue(queue: string, ids?: string[]): Promise<Requeued>
  gc(queue: string, opts: GcOptions, onProgress?: (n: number) => void): Promise<GcResult>
  /** One message by id, in whatever state it is (its body with `body`); undefined when the queue has none with that id. */
  show(queue: string, id: string, opts?: {body?: boolean}): Promise<MessageInfo | undefined>
  /** What became of each id (`mq wait`), in the order given. */
  fates(queue: string, ids: string[]): Promise<Fate[]>
  /**
   * Removes the messages that are ready or delayed; refuses the others (in flight: its
   * consumer's; dead, done: purge or gc them). RACE: a claim and a cancel of one message: one wins.
   */
  cancel(queue: string, ids: string[]): Promise<Cancelled>
  /**
   * Deletes the queue: every message in every state, its config and keys, its subscriptions.
   * Returns how many messages went. A push after it makes a new, empty queue.
   */
  drop(queue: string): Promise<number>

  /** From now on, pushes to `topic` reach `queue` too; false when it already did, undefined when the engine cannot tell. */
  subscribe(topic: string, queue: string): Promise<boolean | undefined>
  unsubscribe(topic: string, queue: string): Promise<void>
  /** Subscribed queues, or undefined when the name is not a topic. */
  subscribers(topic: string): Promise<string[] | undefined>
  /** The names that are topics. */
  topics(): Promise<string[]>

  /**
   * How many deliveries this process will handle at once (a worker's -j), for an engine that
   * pushes messages to its consumers ahead of the claims (RabbitMQ's prefetch). Optional.
   */
  hint?(h: {concurrency: number}): void

  close(): Promise<void>
}

/**
 * One claim attempt of an engine (ClaimDriver.tryClaim): a delivery; or the queue is paused; or
 * nothing is ready, with, when the engine knows it, how long until a delayed message falls due
 * or a lease ends (a duration on the engine's clock: the waiter looks again then).
 */
export type ClaimAttempt = {delivery: Delivery} | {paused: true} | {empty: true; nextDueInMs?: number}

/** A wait for a change to one queue (a push, a release, a resume), armed when it was made. */
export interface Wakeup {
  /** Resolves when the queue may have changed, after ms at the latest, or when signal aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void>
  close(): void
}

/**
 * What an engine gives the one claim-and-wait loop (src/queue.ts claimWithWait): transitions
 * that never wait, and a wake-up signal.
 */
export interface ClaimDriver {
  /** Claims the next deliverable message now, or says why not; never waits. */
  tryClaim(queue: string, leaseMs?: number): Promise<ClaimAttempt>
  /**
   * A wake-up for queue, armed before it resolves: a change after this call is not missed by
   * the wait that follows (the loop claims again between the two).
   */
  watch(queue: string): Promise<Wakeup>
}

/**
 * A message as a driver stores it: its times as durations from now (the queue layer converts
 * the caller's times, once; a driver adds them to its own clock: the server's, the
 * filesystem's).
 */
export interface DriverMessage extends Omit<PushInput, 'expiresAt' | 'notBefore'> {
  /** Not deliverable for this long (absent or <= 0: ready now). */
  delayMs?: number
  /** Dead-lettered (reason expired) instead of delivered once this long has passed. */
  ttlMs?: number
}

/**
 * An engine, as the queue layer (src/queue.ts) drives it: the transitions of src/backend.ts in
 * durations, and the inspection and administration primitives, without the contract's
 * checks, which the queue layer makes before a driver is called. A driver may count on:
 *
 * - every queue and topic name is valid (src/queue-name.ts); a key comes with one message alone;
 * - peek, stats of one queue, getConfig, pause, resume, purge, requeue and gc name a queue that
 *   exists (the queue layer asked `exists` and answered NoSuchQueueError itself);
 * - nothing it did not declare in `capabilities` is asked of it (priorities, delays, keys,
 *   expiry, a bound, pause, topics, acked messages kept);
 * - push never has to wait for room: a full queue is QueueFullError at once, and the queue
 *   layer tries again (PushOptions.waitMs);
 * - claims never wait: tryClaim once, and watch for the wake-up (ClaimDriver).
 *
 * A driver never validates, never waits, and never converts a caller's time: what it is given
 * it does, in one transition each where it can (a script, a statement, a rename).
 */
export interface Driver extends ClaimDriver, Omit<Backend, 'ackAndClaim' | 'claim' | 'fates' | 'push'> {
  /**
   * What became of each id, for an engine that does not keep acked messages (it remembers
   * recent acks some other way). Absent: the queue layer asks `show` for each.
   */
  fates?(queue: string, ids: string[]): Promise<Fate[]>
  /** An ack and the next claim in one transition (absent: the queue layer makes the two). */
  ackAndClaim?(queue: string, receipt: string, leaseMs?: number): Promise<{id: string; next: ClaimAttempt}>
  /**
   * The driver checks room before it reads a streamed body, so a QueueFullError leaves the
   * stream unread and the push can be tried again with it (the spool). Without it, the queue
   * layer reads streamed bodies whole before a push that may wait for room.
   */
  readonly checksRoomFirst?: boolean
  /** How often the queue layer looks for room in a full queue (PushOptions.waitMs); default 50 ms. */
  readonly roomPollMs?: number
  /**
   * push keeps a record of opts.attempt (a name the queue layer gives one push call) in the
   * same transition as the messages, for a while (a minute at least): a push sent again with
   * the same attempt after its reply was lost stores nothing more and answers as the first did.
   */
  readonly idempotentPush?: boolean
  /**
   * The largest body the driver takes, in bytes (a server engine's max_body=): the queue layer
   * refuses a larger one (BodyTooLargeError, 65) before the driver sees it, reading a stream no
   * further than the limit. Absent: no limit but memory's (and the disk's).
   */
  readonly maxBodyBytes?: number
  /**
   * ack(queue, receipt, {again: true}), the same ack sent again because the first one's reply
   * was lost, answers as the first did: success if the first took effect (not "not in flight",
   * which any other second ack of a receipt stays).
   */
  readonly idempotentAck?: boolean
  ack(queue: string, receipt: string, opts?: {again?: boolean}): Promise<string>
  /**
   * Durably enqueue (to every subscriber, if `queue` is a topic); a full queue fails at once.
   * A lost reply (the request was sent) is ConnectionLostError, never a plain ServerUnavailableError.
   */
  push(queue: string, messages: DriverMessage[], opts: {attempt?: string; keyTtlMs?: number}): Promise<Pushed[]>
}

/** Capabilities of an engine that does everything. */
export const ALL_CAPABILITIES: Capabilities = {
  blockingWait: true,
  delays: true,
  expiry: true,
  inspect: true,
  keepsDone: true,
  listing: true,
  keys: true,
  maxDepth: true,
  pause: true,
  priorities: true,
  portableReceipts: true,
  sharedMessages: true,
  topics: true,
}
