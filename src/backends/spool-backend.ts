import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {type AdminBackend, type Backend, type ClaimRequest, type Delivery, type PushRequestOptions} from '../backend.js'
import {QueueFullError, QueuePausedError} from '../errors.js'
import {type GcOptions, gcQueue, isPaused, pauseQueue, type PurgeState, purgeQueue, requeueDead, resumeQueue} from '../spool/admin.js'
import {type QueueConfig, readQueueConfig, updateQueueConfig} from '../spool/config.js'
import {ackMessage} from '../spool/ack.js'
import {type Claim, claimNext} from '../spool/claim.js'
import {createQueue, queueExists} from '../spool/create-queue.js'
import {type DeadReason, deadLetter} from '../spool/dead-letter.js'
import {listQueueNames, type PeekState, peekMessages, queueStats} from '../spool/inspect.js'
import {QueueDirs} from '../spool/layout.js'
import {type PushInput, pushMessages} from '../spool/push.js'
import {notInFlight, resolveReceipt} from '../spool/receipt.js'
import {releaseMessage} from '../spool/release.js'
import {renewLease} from '../spool/renew.js'
import {withQueueLock} from '../spool/lock.js'
import {pushToTopic, subscribe, subscribersOf, unsubscribe} from '../spool/topics.js'
import {Wakeup} from '../spool/wait.js'

/**
 * The spool as a Backend: each method is one call into src/spool/, where the transitions and
 * their contracts live. The work is synchronous; the methods are async only to fit the seam.
 */
export class SpoolBackend implements Backend, AdminBackend {
  readonly kind = 'spool'

  constructor(readonly root: string) {}

  dirs(queue: string): QueueDirs {
    return new QueueDirs(this.root, queue)
  }

  /**
   * A name with subscribers is a topic (fan-out); anything else is a queue. A full queue fails
   * at once, or with waitMs polls for room every 200 ms until then.
   */
  async push(queue: string, messages: PushInput[], opts: PushRequestOptions = {}) {
    const until = Date.now() + (opts.waitMs ?? 0)
    for (;;) {
      try {
        const subs = subscribersOf(this.root, queue)
        return subs === undefined
          ? pushMessages(this.dirs(queue), messages, opts)
          : pushToTopic(this.root, queue, subs, messages, opts)
      } catch (error) {
        if (!(error instanceof QueueFullError) || Date.now() >= until) throw error
        await new Promise((r) => setTimeout(r, Math.min(200, Math.max(1, until - Date.now()))))
      }
    }
  }

  /**
   * Claims the next message. A paused queue yields nothing: without a wait that is
   * QueuePausedError (pop exits 69); with one, the wait goes on until resume or the deadline.
   */
  async claim(queue: string, req: ClaimRequest): Promise<Delivery | null> {
    const q = this.dirs(queue)
    const opts = {leaseMs: req.leaseMs, maxAttempts: req.maxAttempts}
    const exists = queueExists(q)
    const paused = exists && isPaused(q)
    if (paused && (!req.waitMs || req.waitMs <= 0)) throw new QueuePausedError(queue)
    const first = exists && !paused ? claimNext(q, opts) : null
    if (first || !req.waitMs || req.waitMs <= 0) return first && this.deliver(queue, first)
    const until = Date.now() + req.waitMs
    for (;;) {
      const wakeup = new Wakeup(q)
      try {
        // Claim again after arming the watches: a push between the first try and the watches
        // would otherwise wait for the slow poll. (The watches include the queue directory,
        // so a resume wakes us too.)
        const claim = isPaused(q) ? null : claimNext(q, opts)
        if (claim) return this.deliver(queue, claim)
        if (Date.now() >= until || req.signal?.aborted) return null
        await wakeup.wait(until, req.signal)
      } finally {
        wakeup.close()
      }
    }
  }

  private deliver(queue: string, c: Claim): Delivery {
    const data = readFileSync(c.path)
    return {
      attempt: c.attempt,
      body: c.bodyOffset ? data.subarray(c.bodyOffset) : data,
      enqueuedAt: c.enqueuedAt,
      header: c.header,
      id: c.id,
      leaseUntil: c.leaseUntil,
      priority: c.priority,
      queue,
      receipt: c.receipt,
    }
  }

  async ack(queue: string, receipt: string) {
    return ackMessage(this.dirs(queue), receipt)
  }

  async release(queue: string, receipt: string, delayMs = 0, opts: {uncount?: boolean} = {}) {
    return releaseMessage(this.dirs(queue), receipt, delayMs, Date.now(), opts.uncount)
  }

  async renew(queue: string, receipt: string, leaseMs: number) {
    return renewLease(this.dirs(queue), receipt, leaseMs)
  }

  async deadLetter(queue: string, receipt: string, reason: DeadReason) {
    const q = this.dirs(queue)
    const {m, name} = resolveReceipt(q, receipt)
    if (!deadLetter(q, join(q.cur, name), m, reason)) throw notInFlight(q, name)
  }

  async peek(queue: string, state: PeekState, limit: number, withBody: boolean) {
    return peekMessages(this.dirs(queue), state, limit, withBody)
  }

  async stats(queue?: string) {
    const names = queue === undefined ? listQueueNames(this.root) : [queue]
    return names.map((name) => queueStats(this.dirs(name)))
  }

  async close() {}

  // ---- AdminBackend ----

  async getConfig(queue: string) {
    return readQueueConfig(this.dirs(queue))
  }

  async setConfig(queue: string, patch: Partial<Record<keyof QueueConfig, number | undefined>>) {
    return updateQueueConfig(this.dirs(queue), patch)
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

  async gc(queue: string, opts: GcOptions, onProgress?: (n: number) => void) {
    const q = this.dirs(queue)
    return withQueueLock(q, 'maintenance', () => gcQueue(q, opts, onProgress))
  }

  async subscribe(topic: string, queue: string) {
    return subscribe(this.root, topic, queue)
  }

  async unsubscribe(topic: string, queue: string) {
    unsubscribe(this.root, topic, queue)
  }

  async subscribers(topic: string) {
    return subscribersOf(this.root, topic)
  }
}
