import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {type Backend, type ClaimRequest, type Delivery} from '../backend.js'
import {NotInFlightError} from '../errors.js'
import {ackMessage} from '../spool/ack.js'
import {type Claim, claimNext} from '../spool/claim.js'
import {queueExists} from '../spool/create-queue.js'
import {type DeadReason, deadLetter} from '../spool/dead-letter.js'
import {listQueueNames, type PeekState, peekMessages, queueStats} from '../spool/inspect.js'
import {QueueDirs} from '../spool/layout.js'
import {type PushInput, pushMessages} from '../spool/push.js'
import {resolveReceipt} from '../spool/receipt.js'
import {releaseMessage} from '../spool/release.js'
import {renewLease} from '../spool/renew.js'
import {Wakeup} from '../spool/wait.js'

/**
 * The spool as a Backend: each method is one call into src/spool/, where the transitions and
 * their contracts live. The work is synchronous; the methods are async only to fit the seam.
 */
export class SpoolBackend implements Backend {
  readonly kind = 'spool'

  constructor(readonly root: string) {}

  dirs(queue: string): QueueDirs {
    return new QueueDirs(this.root, queue)
  }

  async push(queue: string, messages: PushInput[]) {
    return pushMessages(this.dirs(queue), messages)
  }

  async claim(queue: string, req: ClaimRequest): Promise<Delivery | null> {
    const q = this.dirs(queue)
    const opts = {leaseMs: req.leaseMs, maxAttempts: req.maxAttempts}
    const first = queueExists(q) ? claimNext(q, opts) : null
    if (first || !req.waitMs || req.waitMs <= 0) return first && this.deliver(queue, first)
    const until = Date.now() + req.waitMs
    for (;;) {
      const wakeup = new Wakeup(q)
      try {
        // Claim again after arming the watches: a push between the first try and the watches
        // would otherwise wait for the slow poll.
        const claim = claimNext(q, opts)
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
    if (!deadLetter(q, join(q.cur, name), m, reason)) throw new NotInFlightError(queue, m.id, 'lease lost before it could be dead-lettered')
  }

  async peek(queue: string, state: PeekState, limit: number, withBody: boolean) {
    return peekMessages(this.dirs(queue), state, limit, withBody)
  }

  async stats(queue?: string) {
    const names = queue === undefined ? listQueueNames(this.root) : [queue]
    return names.map((name) => queueStats(this.dirs(name)))
  }

  async close() {}
}
