import {type Readable} from 'node:stream'

import {type GcOptions, type PurgeState} from './spool/admin.js'
import {type Claim} from './spool/claim.js'
import {type QueueConfig} from './spool/config.js'
import {type DeadReason} from './spool/dead-letter.js'
import {type MessageHeader} from './spool/header.js'
import {type MessageInfo, type PeekState, type QueueStats} from './spool/inspect.js'
import {type PushedMessage, type PushInput} from './spool/push.js'
import {type ReleaseResult} from './spool/release.js'

export type {DeadReason, MessageHeader, MessageInfo, PeekState, PushedMessage, PushInput, QueueStats, ReleaseResult}

export interface PushRequestOptions {
  /** With a key in the header: how long the key holds (default 24h). */
  keyTtlMs?: number
  /** When the queue is full, wait up to this long for room (default: fail at once). */
  waitMs?: number
}

export interface ClaimRequest {
  leaseMs: number
  maxAttempts: number
  /** Wait up to this long for a message (0: do not wait). */
  waitMs?: number
  signal?: AbortSignal
}

/**
 * One delivery of one message: what a consumer needs to process it and settle it. The
 * metadata is the spool claim's (src/spool/claim.ts); `receipt` is opaque to callers.
 */
export interface Delivery extends Omit<Claim, 'body' | 'bodyOffset' | 'bodySize' | 'path'> {
  queue: string
  /** The body's size in bytes. */
  size: number
  /** The whole body in memory (engines that keep bodies in files read it on first access). */
  readonly body: Buffer
  /** The body as a stream: memory stays flat whatever its size. */
  openBody(): Readable
  /**
   * An open file descriptor positioned at the body's first byte, for handing the body to another
   * process as a file (its whole body is there from the start); the caller closes it. Offered by
   * engines that keep bodies in files.
   */
  bodyFd?(): number
}

/**
 * The queue operations every backend provides. Commands and the consume worker talk only to
 * this; test/behaviour/ runs one suite against every implementation. Receipts are opaque
 * strings to callers. Errors are the typed errors of src/errors.ts: NotInFlightError when a
 * receipt no longer names a live delivery, and so on.
 */
export interface Backend {
  readonly kind: string
  /** Durably enqueue (to every subscriber, if `queue` is a topic); returns once every message is stored. */
  push(queue: string, messages: PushInput[], opts?: PushRequestOptions): Promise<PushedMessage[]>
  /** Claim the next ready message under a lease, or null (after waiting, if asked). */
  claim(queue: string, req: ClaimRequest): Promise<Delivery | null>
  /** Finish a delivery; returns the message id. */
  ack(queue: string, receipt: string): Promise<string>
  /**
   * Give a delivery back, ready at once or after delayMs. With uncount, the delivery does not
   * count toward max-attempts (used when a consumer shuts down under a running handler).
   */
  release(queue: string, receipt: string, delayMs?: number, opts?: {uncount?: boolean}): Promise<ReleaseResult>
  /** Extend a delivery's lease; returns the receipt to use from now on. */
  renew(queue: string, receipt: string, leaseMs: number): Promise<string>
  /** Move a delivery to the dead letters, with its reason. */
  deadLetter(queue: string, receipt: string, reason: DeadReason): Promise<void>
  peek(queue: string, state: PeekState, limit: number, withBody: boolean): Promise<MessageInfo[]>
  /** Stats of one queue, or of every queue when none is named. */
  stats(queue?: string): Promise<QueueStats[]>
  close(): Promise<void>
}

export type {GcOptions, PurgeState, QueueConfig}

/**
 * Administration, beside the queue operations: what `mq config`, `pause`, `purge`, `requeue`,
 * `gc`, `subscribe` need. Kept apart so that the core seam stays small.
 */
export interface AdminBackend {
  getConfig(queue: string): Promise<QueueConfig>
  setConfig(queue: string, patch: Partial<Record<keyof QueueConfig, number | undefined>>): Promise<QueueConfig>
  pause(queue: string): Promise<void>
  /** Returns false when the queue was not paused. */
  resume(queue: string): Promise<boolean>
  purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>>
  /** Dead letters back to ready; returns the ids moved. */
  requeue(queue: string, ids?: string[]): Promise<string[]>
  gc(queue: string, opts: GcOptions, onProgress?: (n: number) => void): Promise<{done: number; keys: number; tmp: number}>
  subscribe(topic: string, queue: string): Promise<boolean>
  unsubscribe(topic: string, queue: string): Promise<void>
  /** Subscribed queues, or undefined when the name is not a topic. */
  subscribers(topic: string): Promise<string[] | undefined>
}

export function isAdminBackend(b: Backend): b is AdminBackend & Backend {
  return typeof (b as Partial<AdminBackend>).purge === 'function'
}
