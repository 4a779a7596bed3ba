import {
  ALL_CAPABILITIES,
  type Cancelled,
  type Capabilities,
  type ClaimAttempt,
  type DeadReason,
  type Driver,
  type DriverMessage,
  type Failure,
  type GcOptions,
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
  cancelledFrom,
} from '../../backend.js'
import {NoSubscribersError, NotInFlightError, NotSubscribedError, QueueFullError} from '../../errors.js'
import {randomHex} from '../../lazy.js'
import {DEFAULT_KEY_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS} from '../../policy.js'
import {parseReceipt, pushBodies, wakeupFrom} from '../common.js'
import {PgConnection} from './connection.js'
import {delivery, meta, type Row} from './map.js'

export {parsePostgresUrl} from './url.js'

/**
 * The PostgreSQL engine: every queue in a PostgreSQL (15 or later) database, shared by any
 * number of processes and hosts. Each transition is one statement, a call of one function of
 * ./sql/*.sql (where the tables and functions are, with their contracts), so one transaction; time is the server's. The connection, the
 * schema's installation and failures are ./connection.ts, the URL ./url.ts, rows ./map.ts.
 *
 * URL: postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?OPTIONS] (or postgresql://). Options:
 *   schema=NAME          the schema holding mq's tables (default "mq"); created on first use
 *   connect_timeout=D    how long to try to connect (default 2s); then 69
 *   command_timeout=D    how long to wait for any answer (default 10s); then 69
 *   relay=D | off        how long a command line's push relay stays after its last push (default 10s; src/relay/)
 * node-postgres's own options go to it as they are (PASSED_ON); sslmode means what it means to
 * libpq (require: encrypted, not verified; verify-ca; verify-full), without node-postgres's
 * warning about its older reading of it. Any other option is refused (78): a misspelt one
 * (sslmod=) must not be ignored.
 */
export const POSTGRES_CAPABILITIES: Capabilities = {...ALL_CAPABILITIES}

export class PostgresBackend extends PgConnection implements Driver {
  readonly kind = 'postgres'
  readonly capabilities = POSTGRES_CAPABILITIES
  readonly idempotentPush = true
  get maxBodyBytes(): number {
    return this.cfg.maxBodyBytes
  }
  readonly idempotentAck = true

  // ---- push -------------------------------------------------------------------------------

  async push(queue: string, messages: DriverMessage[], opts: {attempt?: string; keyTtlMs?: number} = {}): Promise<Pushed[]> {
    this.mayCreateSchema = true
    const bodies = await pushBodies(messages)
    if (this.relay) {
      // A command line's push: the relay's connection, when one answers (src/relay/); else this one.
      const relayed = await (await import('../../relay/client.js')).relayPush(this.relay, queue, messages, bodies, opts)
      if (relayed) return relayed
    }
    return this.pushNow(queue, messages, bodies, opts)
  }

  private async pushNow(queue: string, inputs: DriverMessage[], bodies: Buffer[], opts: {attempt?: string; keyTtlMs?: number}): Promise<Pushed[]> {
    const rows = await this.q<{status: string; id: string; state: 'delayed' | 'ready'}>(`SELECT * FROM ${this.S}.push($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
      queue,
      this.node,
      opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS,
      inputs[0]?.key ?? null,
      inputs.map((m) => m.priority ?? 0),
      inputs.map((m) => Math.max(0, m.delayMs ?? 0)),
      inputs.map((m) => m.ttlMs ?? null),
      inputs.map((m) => (m.headers === undefined ? null : JSON.stringify(m.headers))),
      bodies,
      opts.attempt ?? '',
    ])
    const first = rows[0]
    if (first?.status === 'nosubs') throw new NoSubscribersError(queue)
    if (first?.status === 'full') {
      const [name, depth, max] = first.id.split('/')
      throw new QueueFullError(name, Number(depth), Number(max))
    }
    if (first?.status === 'dup') return [{duplicate: true, id: first.id, state: 'ready'}]
    return rows.map((r) => ({id: r.id, state: r.state}))
  }

  // ---- claim and settle -------------------------------------------------------------------

  /**
   * One claim attempt (S.claim): a delivery; else one look at why not: paused, or empty with
   * how long until the next delay falls due or lease ends, on the server's clock.
   */
  async tryClaim(queue: string, leaseMs?: number): Promise<ClaimAttempt> {
    this.mayCreateSchema = true
    // The lease granted crosses back as a duration (time is the server's), by the claim's own rule.
    const rows = await this.q<Row & {lease_ms: string}>(
      `SELECT c.*, ${this.S}.lease_for($1, $3) AS lease_ms FROM ${this.S}.claim($1, $2, $3) c`,
      [queue, randomHex(8), leaseMs ?? null],
    )
    if (rows[0]) return {delivery: delivery(queue, rows[0])}
    const [look] = await this.q<{paused: boolean | null; due_in: null | string}>(`SELECT * FROM ${this.S}.claim_look($1)`, [queue])
    if (look.paused) return {paused: true}
    return look.due_in === null ? {empty: true} : {empty: true, nextDueInMs: Number(look.due_in)}
  }

  /**
   * LISTEN on the wake channel (once per connection), and a waiter for this queue registered
   * now: a NOTIFY for it from here on (a push, release, requeue or resume commits) ends the wait.
   */
  async watch(queue: string): Promise<Wakeup> {
    this.mayCreateSchema = true
    await this.listen()
    return wakeupFrom((fire) => {
      const waiter = (q: string) => {
        if (q === queue) fire()
      }
      this.waiters.add(waiter)
      return () => this.waiters.delete(waiter)
    })
  }

  /**
   * One settle (S.ack, S.release, S.renew, S.dead_letter: ./sql/3-settle.sql) of the delivery
   * a receipt names; 'gone' and 'lost:N' are NotInFlightError, anything else its outcome.
   */
  private async settle<R extends {status: string}>(fn: string, queue: string, receipt: string, args: unknown[] = []): Promise<R & {id: string}> {
    const {id, token} = parseReceipt(queue, receipt)
    const params = [queue, id, token, ...args].map((_, i) => `$${i + 1}`).join(', ')
    const [r] = await this.q<R>(`SELECT * FROM ${this.S}.${fn}(${params})`, [queue, id, token, ...args])
    held(queue, id, r.status)
    return {...r, id}
  }

  /**
   * The ack, then (only when it took effect) the next claim, in one statement: one round trip
   * and one commit (S.claim_after in ./sql/3-settle.sql has the contract and the race notes).
   */
  async ackAndClaim(queue: string, receipt: string, leaseMs?: number): Promise<{id: string; next: ClaimAttempt}> {
    const {id, token} = parseReceipt(queue, receipt)
    const [r] = await this.q<Row & {ack_status: string; lease_ms: string}>(
      `SELECT a.status AS ack_status, c.*, ${this.S}.lease_for($1, $5) AS lease_ms FROM ${this.S}.ack($1, $2, $3, false) a LEFT JOIN LATERAL ${this.S}.claim_after(a.status, $1, $4, $5) c ON true`,
      [queue, id, token, randomHex(8), leaseMs ?? null],
    )
    held(queue, id, r.ack_status)
    return {id, next: r.id === null ? {empty: true} : {delivery: delivery(queue, r)}}
  }

  async ack(queue: string, receipt: string, opts: {again?: boolean} = {}): Promise<string> {
    return (await this.settle('ack', queue, receipt, [opts.again === true])).id
  }

  async release(queue: string, receipt: string, opts: ReleaseOptions = {}): Promise<Released> {
    const r = await this.settle<{status: string; at: string}>('release', queue, receipt, [opts.uncount ?? false, opts.delayMs ?? 0, JSON.stringify(opts.failure ?? {})])
    if (r.status === 'delayed') return {id: r.id, notBefore: Number(r.at), state: 'delayed'}
    return {id: r.id, state: r.status as 'dead' | 'ready'}
  }

  async renew(queue: string, receipt: string, leaseMs?: number): Promise<number> {
    return Number((await this.settle<{status: string; lease_ms: string}>('renew', queue, receipt, [leaseMs ?? null])).lease_ms)
  }

  async deadLetter(queue: string, receipt: string, failure: Failure = {}): Promise<void> {
    await this.settle('dead_letter', queue, receipt, [JSON.stringify(failure)])
  }

  // ---- inspection -------------------------------------------------------------------------

  async peek(queue: string, req: PeekRequest): Promise<MessageInfo[]> {
    const rows = await this.q<Row & {size: number}>(`SELECT * FROM ${this.S}.peek($1, $2, $3, $4)`, [queue, req.state, req.limit, Boolean(req.bodies)])
    return rows.map((r) => this.info(r, Boolean(req.bodies)))
  }

  private info(r: Row & {size: number}, bodies: boolean): MessageInfo {
    const reason = r.reason === null ? undefined : (JSON.parse(r.reason) as DeadReason)
    return {
      attempt: r.attempt,
      enqueuedAt: Number(r.enqueued_at),
      id: r.id,
      priority: r.priority,
      size: r.size,
      state: r.state,
      ...(bodies ? {body: r.body} : {}),
      ...(r.not_before === null ? {} : {notBefore: Number(r.not_before)}),
      ...(r.lease_until === null ? {} : {leaseUntil: Number(r.lease_until)}),
      ...meta(r),
      ...(reason ? {reason} : {}),
    }
  }

  async show(queue: string, id: string, opts: {body?: boolean} = {}): Promise<MessageInfo | undefined> {
    const [r] = await this.q<Row & {last_failure: null | string; size: number}>(`SELECT * FROM ${this.S}.show($1, $2, $3)`, [queue, id, Boolean(opts.body)])
    if (!r) return undefined
    return {...this.info(r, Boolean(opts.body)), ...(r.last_failure === null ? {} : {lastFailure: JSON.parse(r.last_failure) as Failure & {at: number}})}
  }

  async cancel(queue: string, ids: string[]): Promise<Cancelled> {
    const rows = await this.q<{id: string; outcome: string}>(`SELECT * FROM ${this.S}.cancel($1, $2)`, [queue, ids])
    return cancelledFrom(rows.map((r) => [r.id, r.outcome]))
  }

  async drop(queue: string): Promise<number> {
    let n = 0
    for (;;) {
      const [{removed}] = await this.q<{removed: string}>(`SELECT ${this.S}.drop($1, $2) AS removed`, [queue, 10_000])
      n += Number(removed)
      if (Number(removed) < 10_000) return n
    }
  }

  async stats(queue?: string): Promise<QueueStats[]> {
    const names = queue === undefined ? (await this.q<{name: string}>(`SELECT name FROM ${this.S}.queue_names() name`)).map((r) => r.name) : [queue]
    const out: QueueStats[] = []
    for (const name of names) {
      const [r] = await this.q<Record<string, string> & {paused: boolean}>(`SELECT * FROM ${this.S}.stats($1)`, [name])
      out.push({
        dead: Number(r.dead),
        delayed: Number(r.delayed),
        done: Number(r.done),
        inflight: Number(r.inflight),
        oldestReadyAgeMs: r.age === null ? null : Math.max(0, Number(r.age)),
        paused: r.paused,
        queue: name,
        ready: Number(r.ready),
      })
    }
    return out
  }

  async exists(queue: string): Promise<boolean> {
    return (await this.q<{e: boolean}>(`SELECT ${this.S}.queue_exists($1) AS e`, [queue]))[0].e
  }

  // ---- administration ---------------------------------------------------------------------

  async getConfig(queue: string): Promise<QueueConfig> {
    const [r] = await this.q<ConfigRow>(`SELECT * FROM ${this.S}.get_config($1)`, [queue])
    return config(r)
  }

  async setConfig(queue: string, patch: QueueConfigPatch): Promise<QueueConfig> {
    this.mayCreateSchema = true
    const [r] = await this.q<ConfigRow>(`SELECT * FROM ${this.S}.set_config($1, $2)`, [queue, JSON.stringify(patch)])
    return config(r)
  }

  async pause(queue: string): Promise<void> {
    await this.q(`SELECT ${this.S}.pause($1)`, [queue])
  }

  async resume(queue: string): Promise<boolean> {
    return (await this.q<{was: boolean}>(`SELECT ${this.S}.resume($1) AS was`, [queue]))[0].was
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>> {
    const rows = await this.q<{state: PurgeState; n: string}>(`SELECT * FROM ${this.S}.purge($1, $2)`, [queue, states])
    const counts: Record<PurgeState, number> = {dead: 0, delayed: 0, done: 0, ready: 0}
    for (const r of rows) counts[r.state] = Number(r.n)
    const total = Object.values(counts).reduce((a, b) => a + b, 0)
    if (total > 0) onProgress?.(total)
    return counts
  }

  async requeue(queue: string, ids?: string[]): Promise<Requeued> {
    const rows = await this.q<{id: string; cleared: boolean}>(`SELECT * FROM ${this.S}.requeue($1, $2)`, [queue, ids ?? null])
    return {expiryCleared: rows.filter((r) => r.cleared).map((r) => r.id), requeued: rows.map((r) => r.id)}
  }

  async gc(queue: string, opts: GcOptions): Promise<{done: number; keys: number}> {
    const [r] = await this.q<{done: string; keys: string}>(`SELECT * FROM ${this.S}.gc($1, $2)`, [queue, opts.doneOlderThanMs])
    return {done: Number(r.done), keys: Number(r.keys)}
  }

  // ---- topics -----------------------------------------------------------------------------

  async subscribe(topic: string, queue: string): Promise<boolean> {
    this.mayCreateSchema = true
    return (await this.q<{made: boolean}>(`SELECT ${this.S}.subscribe($1, $2) AS made`, [topic, queue]))[0].made
  }

  async unsubscribe(topic: string, queue: string): Promise<void> {
    if (!(await this.q<{gone: boolean}>(`SELECT ${this.S}.unsubscribe($1, $2) AS gone`, [topic, queue]))[0].gone) throw new NotSubscribedError(topic, queue)
  }

  async subscribers(topic: string): Promise<string[] | undefined> {
    const [r] = await this.q<{is_topic: boolean; queues: string[]}>(`SELECT * FROM ${this.S}.subscribers($1)`, [topic])
    return r.is_topic ? r.queues : undefined
  }

  async topics(): Promise<string[]> {
    return (await this.q<{name: string}>(`SELECT name FROM ${this.S}.topic_names() name`)).map((r) => r.name)
  }
}

type ConfigRow = {max_depth: null | string; max_attempts: null | number; lease_ms: null | string} | undefined

/** A queue's config from its row (no row, or NULL: the default, or no bound). */
function config(r: ConfigRow): QueueConfig {
  return {
    leaseMs: r?.lease_ms == null ? DEFAULT_LEASE_MS : Number(r.lease_ms),
    maxAttempts: r?.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    ...(r?.max_depth == null ? {} : {maxDepth: Number(r.max_depth)}),
  }
}

/** A settle's status ('gone', 'lost:N': NotInFlightError) for a delivery still held, as S.held says. */
function held(queue: string, id: string, status: string): void {
  if (status === 'gone') throw NotInFlightError.gone(queue, id)
  if (status.startsWith('lost:')) throw NotInFlightError.claimedAgain(queue, id, status.slice(5))
}
