import {join} from 'node:path'

import {type Backend, type Delivery} from '../backend.js'
import {NotInFlightError, OutcomeUnknownError, QueuePausedError} from '../errors.js'
import {formatDuration} from '../duration.js'
import {decide, describeOutcome, type HandlerOutcome, type RetryPolicy} from './decide.js'
import {bodyStdin, type HandlerRun, runHandler} from './run-handler.js'

export interface ConsumeOptions extends RetryPolicy {
  queue: string
  /** The handler: program and arguments (no shell). */
  argv: string[]
  concurrency: number
  /** The lease of each claim; default: the queue's. */
  leaseMs?: number
  timeoutMs?: number
  killAfterMs: number
  /** On stop, how long running handlers may go on before they are stopped and released. */
  graceMs: number
  /** Exit once nothing is ready and nothing runs. */
  once?: boolean
  /**
   * Exit once nothing is ready, delayed or in flight in the queue (other consumers' messages
   * and due retries included), and nothing runs here.
   */
  drain?: boolean
  /** Claim at most this many messages, finish them, exit. */
  maxMessages?: number
  /** Exit after this long with nothing ready and nothing running. */
  idleExitMs?: number
  /** Handler stdout: our stdout, our stderr, or one log file per delivery in a directory. */
  output: {dir: string} | 'stderr' | 'stdout'
  /** Handler output in whole lines, when it is not a file (run-handler.ts HandlerOptions.lines). */
  handlerLines?: (fd: 1 | 2, text: Buffer) => void
  /** Environment handlers start from (MQ_* variables are added). */
  env: NodeJS.ProcessEnv
  onEvent?: (e: ConsumeEvent) => void
  onNotice?: (line: string) => void
}

/** The reason given to abort(): an ordinary value (no DOMException built per finished job). */
const WAKE = Symbol('wake')

export type ConsumeResult = 'ack' | 'dead' | 'lost' | 'released' | 'retry'

/** One finished delivery, as reported on stderr (or as a JSON line with --json). */
export interface ConsumeEvent {
  queue: string
  id: string
  attempt: number
  result: ConsumeResult
  durationMs: number
  exitCode?: number
  signal?: string
  /** For retry: in how long the message is due again. */
  retryInMs?: number
  /** The failure in words (for retry, dead, lost). */
  detail?: string
}

interface Job {
  delivery: Delivery
  done: Promise<void>
  /** Resolves when its handler has ended: the slot is free while its outcome is being settled. */
  handled: Promise<void>
  markHandled: () => void
  settling: boolean
  handler?: HandlerRun
  shutdown: boolean
}

export interface ConsumeSummary {
  processed: number
  acked: number
  failed: number
  /** Deliveries that ended in the dead letters. */
  dead: number
  /** True when stopped by a second signal (handlers killed, leases released). */
  forced: boolean
}

/**
 * The worker loop behind `mq consume`. A message is claimed only when a handler slot is free
 * (no prefetch), so several consumers share a queue fairly. While a handler runs, its lease
 * is renewed every third of the lease; if a renewal finds the lease lost, the result is not
 * acked (someone else has the message now). Outcomes are settled by decide.ts.
 *
 * Stopping: stop() stops claiming at once, lets running handlers finish for graceMs, then
 * stops them (SIGTERM, SIGKILL after killAfterMs) and releases their messages with the
 * delivery uncounted (the shutdown was not the message's fault). forceStop() does the same
 * without the grace.
 */
export class Consumer {
  readonly summary: ConsumeSummary = {acked: 0, dead: 0, failed: 0, forced: false, processed: 0}
  private readonly jobs = new Set<Job>()
  private stopping = false
  private wake = new AbortController()
  private graceTimer?: NodeJS.Timeout
  private claimed = 0
  /** Claims on their way (the loop's, and ack-and-claims): counted against --max-messages before they answer. */
  private claiming = 0
  private idleSince = Date.now()
  /**
   * The retries this worker scheduled and has not claimed again (id to due time, ms since
   * epoch): --drain waits for them even where the engine cannot count delayed messages
   * (RabbitMQ), up to 30 s past their time (another worker may have taken one).
   */
  private readonly retries = new Map<string, number>()
  /** The last claim found nothing (so far: none made). */
  private emptyHanded = true

  /** The handlers' base environment, copied once (process.env is slow to copy per message). */
  private readonly baseEnv: NodeJS.ProcessEnv

  constructor(
    private readonly backend: Backend,
    private readonly opts: ConsumeOptions,
  ) {
    this.baseEnv = {...opts.env}
    // An engine that sends messages ahead of claims (RabbitMQ's prefetch) sends at most -j.
    backend.hint?.({concurrency: opts.concurrency})
  }

  get inflight(): number {
    return this.jobs.size
  }

  async run(): Promise<ConsumeSummary> {
    this.idleSince = Date.now()
    while (!this.stopping) {
      if (this.opts.maxMessages !== undefined && this.claimed + this.claiming >= this.opts.maxMessages) break
      // A slot is free once its handler has ended: the next claim goes out while the last
      // outcome's ack is still on its way. (Where the engine's ack brings the next message,
      // a success keeps its slot until that answers: see process.)
      const running = [...this.jobs].filter((j) => !j.settling)
      if (running.length >= this.opts.concurrency) {
        await Promise.race(running.map((j) => j.handled))
        continue
      }
      if (this.wake.signal.aborted) this.wake = new AbortController()
      // Wait for a message; a finishing handler or stop() cuts the wait short (this.wake).
      const waitMs =
        this.jobs.size > 0 || (!this.opts.once && this.opts.idleExitMs === undefined)
          ? 60_000
          : this.opts.once
            ? 0
            : Math.max(0, this.opts.idleExitMs! - (Date.now() - this.idleSince))
      // --drain, nothing running here: after a claim that found nothing, stop if the queue has
      // nothing delayed or in flight elsewhere either; else wait for it (a claim wakes when a
      // delay falls due or a lease runs out), looking again every second. After a claim that
      // found a message, just look again at once: stats (which counts) is not paid per message.
      const drainIdle = this.opts.drain && this.jobs.size === 0
      if (drainIdle && this.emptyHanded && !(await this.queueBusy())) break
      const wait = drainIdle ? (this.emptyHanded ? Math.min(waitMs, 1000) : 0) : waitMs
      // (claiming goes down in the same step as claimed goes up: no moment counts neither.)
      this.claiming++
      let d: Delivery | null
      try {
        d = await this.backend.claim(this.opts.queue, {leaseMs: this.opts.leaseMs, signal: this.wake.signal, waitMs: wait}).catch((error: unknown) => {
          // Paused, and not waiting (--once): nothing is claimable now, which --once treats as done.
          if (error instanceof QueuePausedError) return null
          throw error
        })
      } finally {
        this.claiming--
      }
      this.emptyHanded = !d
      if (d) {
        this.adopt(d)
        continue
      }
      if (this.stopping || this.jobs.size > 0 || this.opts.drain) continue
      if (this.opts.once) break
      if (this.opts.idleExitMs !== undefined && Date.now() - this.idleSince >= this.opts.idleExitMs) break
    }
    while (this.jobs.size > 0) await Promise.race([...this.jobs].map((j) => j.done))
    clearTimeout(this.graceTimer)
    return this.summary
  }

  /** Whether the queue still has anything ready, delayed or in flight (for --drain). */
  private async queueBusy(): Promise<boolean> {
    for (const [id, due] of this.retries) if (Date.now() > due + 30_000) this.retries.delete(id)
    if (this.retries.size > 0) return true
    if (!(await this.backend.exists(this.opts.queue))) return false
    const [s] = await this.backend.stats(this.opts.queue)
    // An engine that cannot count delayed or in-flight messages (RabbitMQ): drained when nothing is ready.
    return s.ready + (s.delayed ?? 0) + (s.inflight ?? 0) > 0
  }

  /** Graceful stop: claim nothing more; running handlers get graceMs, then are stopped. */
  stop(): void {
    if (this.stopping) return
    this.stopping = true
    this.wake.abort(WAKE)
    if (this.jobs.size > 0) {
      this.opts.onNotice?.(`mq: stopping: waiting up to ${formatDuration(this.opts.graceMs)} for ${this.jobs.size} running handler(s)`)
      this.graceTimer = setTimeout(() => {
        for (const j of this.jobs) {
          j.shutdown = true
          j.handler?.stop('shutdown')
        }
      }, this.opts.graceMs)
    }
  }

  /** Immediate stop: handlers are killed now and their messages released. */
  forceStop(): void {
    this.summary.forced = true
    this.stopping = true
    this.wake.abort(WAKE)
    for (const j of this.jobs) {
      j.shutdown = true
      j.handler?.kill()
    }
  }

  /** A delivery this worker claimed, handed to a handler. */
  private adopt(d: Delivery): void {
    this.retries.delete(d.id)
    this.claimed++
    this.start(d)
  }

  /** Whether a finished handler's ack may claim the next message too (see process). */
  private mayChain(): boolean {
    const {maxMessages, once} = this.opts
    return this.backend.ackClaimsInOne === true && !this.stopping && !once && (maxMessages === undefined || this.claimed + this.claiming < maxMessages)
  }

  private start(d: Delivery): void {
    let markHandled = () => {}
    const handled = new Promise<void>((resolve) => (markHandled = resolve))
    const job: Job = {delivery: d, done: Promise.resolve(), handled, markHandled: () => ((job.settling = true), markHandled()), settling: false, shutdown: false}
    job.done = this.process(job).finally(() => {
      job.markHandled()
      this.jobs.delete(job)
      this.idleSince = Date.now()
      this.wake.abort(WAKE) // a slot is free, and --once may now be finished
    })
    this.jobs.add(job)
  }

  private async process(job: Job): Promise<void> {
    const {opts} = this
    const d = job.delivery
    const receipt = d.receipt // the same for the whole delivery: renewals keep it
    let lost: string | undefined
    // Lease renewal, one at a time, every third of the lease (the queue's, when not given).
    const leaseMs = opts.leaseMs ?? d.leaseMs // a duration from the engine: never our clock against its deadline
    let renewing: Promise<void> = Promise.resolve()
    const heartbeat = setInterval(
      () => {
        renewing = renewing.then(async () => {
          if (lost) return
          try {
            await this.backend.renew(opts.queue, receipt, leaseMs)
          } catch (error) {
            lost = error instanceof Error ? error.message : String(error)
            opts.onNotice?.(`mq: ${opts.queue}: ${d.id}: lease lost while the handler runs; its result will not be acked (${lost})`)
          }
        })
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    )

    let stdin: number
    try {
      stdin = d.bodyFd ? d.bodyFd() : bodyStdin(d.body)
    } catch (error) {
      clearInterval(heartbeat)
      await renewing
      opts.onNotice?.(`mq: ${opts.queue}: ${d.id}: could not open its body (${(error as Error).message}); the lease will expire and it will be delivered again`)
      return
    }
    job.handler = runHandler({
      argv: opts.argv,
      stdin,
      env: handlerEnv(this.baseEnv, d),
      killAfterMs: opts.killAfterMs,
      output: typeof opts.output === 'object' ? {file: join(opts.output.dir, `${d.id}.${d.attempt}.log`)} : opts.output,
      lines: opts.handlerLines,
      timeoutMs: opts.timeoutMs,
    })
    const outcome = await job.handler.done
    clearInterval(heartbeat)
    await renewing
    const verdict = decide(outcome, d.attempt, opts)
    // A success on an engine whose ack can bring the next message (Backend.ackClaimsInOne):
    // this slot stays taken until that ack-and-claim answers, and passes its message on.
    const chain = !lost && !job.shutdown && verdict.action === 'ack' && this.mayChain()
    if (chain) this.claiming++
    else job.markHandled()

    const event = (result: ConsumeResult, extra: Partial<ConsumeEvent> = {}) => {
      this.summary.processed++
      if (result === 'ack') this.summary.acked++
      else if (result !== 'released') this.summary.failed++
      if (result === 'dead') this.summary.dead++
      opts.onEvent?.({
        attempt: d.attempt,
        durationMs: outcome.durationMs,
        id: d.id,
        queue: opts.queue,
        result,
        ...(outcome.code === undefined ? {} : {exitCode: outcome.code}),
        ...(outcome.signal === undefined ? {} : {signal: outcome.signal}),
        ...extra,
      })
    }

    if (lost) return event('lost', {detail: lost})
    try {
      if (job.shutdown) {
        await this.backend.release(opts.queue, receipt, {uncount: true})
        return event('released', {detail: 'consumer stopping'})
      }
      switch (verdict.action) {
        case 'ack': {
          if (chain) {
            let next: Delivery | null
            try {
              next = (await this.backend.ackAndClaim(opts.queue, receipt, {leaseMs: opts.leaseMs})).next
            } finally {
              this.claiming--
            }
            event('ack')
            // Claimed as the worker began to stop: given back at once, not counted as a delivery.
            if (next && this.stopping) await this.backend.release(opts.queue, next.receipt, {uncount: true}).catch(() => {})
            else if (next) this.adopt(next)
            return
          }
          await this.backend.ack(opts.queue, receipt)
          return event('ack')
        }
        case 'retry': {
          // The queue's policy decides whether this was the last delivery (then: dead).
          const r = await this.backend.release(opts.queue, receipt, {delayMs: verdict.delayMs, failure: verdict.failure})
          if (opts.drain && r.state === 'delayed' && r.notBefore !== undefined) this.retries.set(r.id, r.notBefore)
          if (r.state === 'dead') return event('dead', {detail: `max_attempts: ${verdict.failure.lastError}`})
          return event('retry', {detail: verdict.failure.lastError, retryInMs: verdict.delayMs})
        }
        case 'dead': {
          await this.backend.deadLetter(opts.queue, receipt, verdict.failure)
          return event('dead', {detail: `rejected: ${verdict.failure.lastError}`})
        }
      }
    } catch (error) {
      if (error instanceof NotInFlightError) return event('lost', {detail: error.message})
      if (error instanceof OutcomeUnknownError) {
        opts.onNotice?.(`mq: ${d.id}: ${error.message}; if it did not take effect, the message is delivered again when its lease ends`)
        return event('lost', {detail: error.message})
      }
      opts.onNotice?.(`mq: ${opts.queue}: ${d.id}: could not settle (${(error as Error).message}); the lease will expire and it will be delivered again`)
      return event('lost', {detail: (error as Error).message})
    }
  }
}

/** The handler's environment: the consumer's, plus the message's metadata. */
export function handlerEnv(base: NodeJS.ProcessEnv, d: Delivery): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    MQ_ATTEMPT: String(d.attempt),
    MQ_ENQUEUED_AT: new Date(d.enqueuedAt).toISOString(),
    MQ_ID: d.id,
    MQ_PRIORITY: String(d.priority),
    MQ_QUEUE: d.queue,
    MQ_RECEIPT: d.receipt,
  }
  if (d.key !== undefined) env.MQ_KEY = d.key
  for (const [k, v] of Object.entries(d.headers ?? {})) env[`MQ_HEADER_${k.toUpperCase().replaceAll(/[^A-Z0-9]/g, '_')}`] = v
  return env
}

export {describeOutcome, type HandlerOutcome}
