import {closeSync, createReadStream, readSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {type AdminBackend, type Backend, type ClaimRequest, type Delivery, type PushRequestOptions} from '../backend.js'
import {ioError, QueueFullError, QueuePausedError} from '../errors.js'
import {type GcOptions, gcQueue, gcTopicDir, isPaused, pauseQueue, type PurgeState, purgeQueue, requeueDead, resumeQueue} from '../spool/admin.js'
import {type QueueConfig, readQueueConfig, updateQueueConfig} from '../spool/config.js'
import {ackMessage} from '../spool/ack.js'
import {type Claim, claimNext} from '../spool/claim.js'
import {checkSpoolRoot, createQueue, queueExists} from '../spool/create-queue.js'
import {type DeadReason, deadLetter} from '../spool/dead-letter.js'
import {listQueueNames, type PeekState, peekMessages, queueStats} from '../spool/inspect.js'
import {openRegular} from '../spool/fs.js'
import {QueueDirs} from '../spool/layout.js'
import {type PushInput, pushMessages} from '../spool/push.js'
import {notInFlight, resolveReceipt} from '../spool/receipt.js'
import {releaseMessage} from '../spool/release.js'
import {renewLease} from '../spool/renew.js'
import {withQueueLock} from '../spool/lock.js'
import {pushToTopic, subscribe, subscribersOf, topicDir, topicNames, unsubscribe} from '../spool/topics.js'
import {Wakeup} from '../spool/wait.js'

/**
 * A delivery whose body stays in its file until asked for: small bodies came with the claim's
 * first read; larger ones are read, streamed, or handed over as a file descriptor from the
 * claimed file (opened without following links, as everything in the spool).
 */
class SpoolDelivery implements Delivery {
  readonly attempt: number
  readonly enqueuedAt: number
  readonly header: Claim['header']
  readonly id: string
  readonly leaseUntil: number
  readonly priority: number
  readonly receipt: string
  readonly size: number
  private loaded?: Buffer

  constructor(
    readonly queue: string,
    private readonly claim: Claim,
  ) {
    this.attempt = claim.attempt
    this.enqueuedAt = claim.enqueuedAt
    this.header = claim.header
    this.id = claim.id
    this.leaseUntil = claim.leaseUntil
    this.priority = claim.priority
    this.receipt = claim.receipt
    this.size = claim.bodySize
    this.loaded = claim.body
  }

  get body(): Buffer {
    if (!this.loaded) {
      const fd = this.bodyFd()
      try {
        const buf = Buffer.allocUnsafe(this.size)
        let off = 0
        while (off < this.size) {
          const n = readSync(fd, buf, off, this.size - off, null)
          if (n === 0) break
          off += n
        }
        this.loaded = buf.subarray(0, off)
      } finally {
        closeSync(fd)
      }
    }
    return this.loaded
  }

  openBody(): Readable {
    if (this.loaded) return Readable.from([this.loaded])
    return createReadStream("", {autoClose: true, fd: this.bodyFd(), highWaterMark: 64 * 1024})
  }

  bodyFd(): number {
    const {fd} = openRegular(this.claim.path)
    try {
      // Move the file position past the header, so that a reader of the fd sees the body only.
      const skip = Buffer.allocUnsafe(Math.max(1, this.claim.bodyOffset))
      for (let left = this.claim.bodyOffset; left > 0; ) {
        const n = readSync(fd, skip, 0, left, null)
        if (n === 0) break
        left -= n
      }
    } catch (error) {
      closeSync(fd)
      throw ioError('read', this.claim.path, error)
    }
    return fd
  }
}

/**
 * The spool as a Backend: each method is one call into src/spool/, where the transitions and
 * their contracts live. The work is synchronous; the methods are async only to fit the seam.
 */
export class SpoolBackend implements Backend, AdminBackend {
  readonly kind = 'spool'

  private rootChecked = false

  constructor(readonly root: string) {}

  /**
   * The queue's directories. The first use checks that the spool, when it exists, is a
   * directory (78 otherwise, and nothing is created in or beside it).
   */
  dirs(queue: string): QueueDirs {
    if (!this.rootChecked) {
      checkSpoolRoot(this.root)
      this.rootChecked = true
    }
    return new QueueDirs(this.root, queue)
  }

  /**
   * A name with subscribers is a topic (fan-out); anything else is a queue. A full queue fails
   * at once, or with waitMs polls for room every 200 ms until then.
   */
  async push(queue: string, messages: PushInput[], opts: PushRequestOptions = {}) {
    this.dirs(queue)
    const until = Date.now() + (opts.waitMs ?? 0)
    for (;;) {
      try {
        const subs = subscribersOf(this.root, queue)
        return await (subs === undefined
          ? pushMessages(this.dirs(queue), messages, opts)
          : pushToTopic(this.root, queue, subs, messages, opts))
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
    return new SpoolDelivery(queue, c)
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
    const q = this.dirs(queue)
    queueExists(q)
    return peekMessages(q, state, limit, withBody)
  }

  async stats(queue?: string) {
    if (queue === undefined) checkSpoolRoot(this.root)
    const names = queue === undefined ? listQueueNames(this.root) : [queue]
    return names.map((name) => {
      const q = this.dirs(name)
      queueExists(q) // a queue directory that is a link or a file: 78
      return queueStats(q)
    })
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

  /** gc of every topic: abandoned temp files of fan-out pushes, and keys that no longer hold. */
  async gcTopics(opts: GcOptions): Promise<Array<{keys: number; tmp: number; topic: string}>> {
    checkSpoolRoot(this.root)
    return topicNames(this.root).map((topic) => ({topic, ...gcTopicDir(topicDir(this.root, topic), opts)}))
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
