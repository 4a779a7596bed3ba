import {
  ALL_CAPABILITIES,
  type Capabilities,
  type ClaimAttempt,
  type DeadReason,
  type Driver,
  type DriverMessage,
  type Failure,
  type GcOptions,
  type MessageInfo,
  type MessageState,
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
} from '../../backend.js'
import {NoSubscribersError, NotInFlightError, NotSubscribedError, QueueFullError} from '../../errors.js'
import {lazy} from '../../lazy.js'
import {DEFAULT_KEY_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS} from '../../policy.js'
import {parseReceipt, pushBodies, wakeupFrom} from '../common.js'
import {PgConnection} from './connection.js'
import {wakeChannel} from './schema.js'
import {delivery, meta, type Row} from './map.js'

export {parsePostgresUrl} from './url.js'

/**
 * The PostgreSQL engine: every queue in a PostgreSQL (15 or later) database, shared by any
 * number of processes and hosts. Each transition is one statement (./sql/install.sql, where the
 * tables and functions are), so one transaction; time is the server's. The connection, the
 * schema's installation and failures are ./connection.ts, the URL ./url.ts, rows ./map.ts.
 *
 * URL: postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?OPTIONS] (or postgresql://). Options:
 *   schema=NAME          the schema holding mq's tables (default "mq"); created on first use
 *   connect_timeout=D    how long to try to connect (default 2s); then 69
 *   command_timeout=D    how long to wait for any answer (default 10s); then 69
 * node-postgres's own options go to it as they are (PASSED_ON); sslmode means what it means to
 * libpq (require: encrypted, not verified; verify-ca; verify-full), without node-postgres's
 * warning about its older reading of it. Any other option is refused (78): a misspelt one
 * (sslmod=) must not be ignored.
 */
export const POSTGRES_CAPABILITIES: Capabilities = {...ALL_CAPABILITIES}

export class PostgresBackend extends PgConnection implements Driver {
  readonly kind = 'postgres'
  readonly capabilities = POSTGRES_CAPABILITIES

  // ---- push -------------------------------------------------------------------------------

  async push(queue: string, messages: DriverMessage[], opts: {keyTtlMs?: number} = {}): Promise<Pushed[]> {
    this.mayCreateSchema = true
    return this.pushNow(queue, messages, await pushBodies(messages), opts)
  }

  private async pushNow(queue: string, inputs: DriverMessage[], bodies: Buffer[], opts: {keyTtlMs?: number}): Promise<Pushed[]> {
    const rows = await this.q<{status: string; id: string; state: 'delayed' | 'ready'}>(`SELECT * FROM ${this.S}.push($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      queue,
      this.node,
      opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS,
      inputs[0]?.key ?? null,
      inputs.map((m) => m.priority ?? 0),
      inputs.map((m) => Math.max(0, m.delayMs ?? 0)),
      inputs.map((m) => m.ttlMs ?? null),
      inputs.map((m) => (m.headers === undefined ? null : JSON.stringify(m.headers))),
      bodies,
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
      `SELECT c.*, ${this.leaseGranted('$3')} AS lease_ms FROM ${this.S}.claim($1, $2, $3) c`,
      [queue, lazy.crypto().randomBytes(8).toString('hex'), leaseMs ?? null],
    )
    if (rows[0]) return {delivery: delivery(queue, rows[0])}
    const [info] = await this.q<{paused: boolean | null; due: null | string; now: string}>(
      `SELECT (SELECT paused FROM ${this.S}.queues WHERE name = $1) AS paused,
              (SELECT min(t) FROM (SELECT min(not_before) t FROM ${this.S}.messages WHERE queue = $1 AND state = 'delayed'
               UNION ALL SELECT min(lease_until) FROM ${this.S}.messages WHERE queue = $1 AND state = 'inflight') x) AS due,
              ${this.S}.now_ms() AS now`,
      [queue],
    )
    if (info.paused) return {paused: true}
    return info.due === null ? {empty: true} : {empty: true, nextDueInMs: Math.max(0, Number(info.due) - Number(info.now))}
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

  private async settle(queue: string, receipt: string, op: string, args: {lease?: number; uncount?: boolean; delay?: number; failure?: Failure} = {}): Promise<{id: string; status: string; at: number; leaseMs: number}> {
    const {id, token: tok} = parseReceipt(queue, receipt)
    const granted = op === 'renew' ? this.leaseGranted('$5') : 'NULL'
    const [r] = await this.q<{status: string; at: string; lease_ms: null | string}>(`SELECT s.*, ${granted} AS lease_ms FROM ${this.S}.settle($1, $2, $3, $4, $5, $6, $7, $8) s`, [
      queue,
      id,
      tok,
      op,
      args.lease ?? null,
      args.uncount ?? false,
      args.delay ?? 0,
      JSON.stringify(args.failure ?? {}),
    ])
    if (r.status === 'gone') throw NotInFlightError.gone(queue, id)
    if (r.status.startsWith('lost:')) throw NotInFlightError.claimedAgain(queue, id, r.status.slice(5))
    return {at: Number(r.at), id, leaseMs: Number(r.lease_ms), status: r.status}
  }

  async ack(queue: string, receipt: string): Promise<string> {
    return (await this.settle(queue, receipt, 'ack')).id
  }

  async release(queue: string, receipt: string, opts: ReleaseOptions = {}): Promise<Released> {
    const r = await this.settle(queue, receipt, 'release', {delay: opts.delayMs ?? 0, failure: opts.failure, uncount: opts.uncount})
    if (r.status === 'delayed') return {id: r.id, notBefore: r.at, state: 'delayed'}
    return {id: r.id, state: r.status as 'dead' | 'ready'}
  }

  async renew(queue: string, receipt: string, leaseMs?: number): Promise<number> {
    return (await this.settle(queue, receipt, 'renew', {lease: leaseMs})).leaseMs
  }

  async deadLetter(queue: string, receipt: string, failure: Failure = {}): Promise<void> {
    await this.settle(queue, receipt, 'dead', {failure})
  }

  // ---- inspection -------------------------------------------------------------------------

  async peek(queue: string, req: PeekRequest): Promise<MessageInfo[]> {
    const order: Record<MessageState, string> = {
      dead: 'id',
      delayed: 'not_before, id',
      done: 'id',
      inflight: 'lease_until, id',
      ready: 'priority DESC, seq, id',
    }
    await this.q(`SELECT ${this.S}.sweep($1, ${this.S}.now_ms())`, [queue])
    const rows = await this.q<Row & {size: number}>(
      `SELECT queue, id, ${req.bodies ? 'body' : 'NULL::bytea AS body'}, octet_length(body) AS size, priority, attempt, state, enqueued_at, not_before, lease_until,
              expires_at, key, headers, topic, reason
       FROM ${this.S}.messages WHERE queue = $1 AND state = $2 ORDER BY ${order[req.state]} LIMIT $3`,
      [queue, req.state, req.limit],
    )
    return rows.map((r) => {
      const reason = r.reason === null ? undefined : (JSON.parse(r.reason) as DeadReason)
      return {
        attempt: r.attempt,
        enqueuedAt: Number(r.enqueued_at),
        id: r.id,
        priority: r.priority,
        size: r.size,
        state: r.state,
        ...(req.bodies ? {body: r.body} : {}),
        ...(r.not_before === null ? {} : {notBefore: Number(r.not_before)}),
        ...(r.lease_until === null ? {} : {leaseUntil: Number(r.lease_until)}),
        ...meta(r),
        ...(reason ? {reason} : {}),
      }
    })
  }

  async stats(queue?: string): Promise<QueueStats[]> {
    const names = queue === undefined ? (await this.q<{name: string}>(`SELECT name FROM ${this.S}.queues ORDER BY name COLLATE "C"`)).map((r) => r.name) : [queue]
    const out: QueueStats[] = []
    for (const name of names) {
      await this.q(`SELECT ${this.S}.sweep($1, ${this.S}.now_ms())`, [name])
      const [r] = await this.q<Record<string, string>>(
        `SELECT count(*) FILTER (WHERE state = 'ready') AS ready, count(*) FILTER (WHERE state = 'inflight') AS inflight,
                count(*) FILTER (WHERE state = 'delayed') AS delayed, count(*) FILTER (WHERE state = 'done') AS done,
                count(*) FILTER (WHERE state = 'dead') AS dead,
                ${this.S}.now_ms() - min(enqueued_at) FILTER (WHERE state = 'ready') AS age,
                (SELECT paused FROM ${this.S}.queues WHERE name = $1) AS paused
         FROM ${this.S}.messages WHERE queue = $1`,
        [name],
      )
      out.push({
        dead: Number(r.dead),
        delayed: Number(r.delayed),
        done: Number(r.done),
        inflight: Number(r.inflight),
        oldestReadyAgeMs: r.age === null ? null : Math.max(0, Number(r.age)),
        paused: Boolean(r.paused),
        queue: name,
        ready: Number(r.ready),
      })
    }
    return out
  }

  async exists(queue: string): Promise<boolean> {
    return (await this.q(`SELECT 1 FROM ${this.S}.queues WHERE name = $1`, [queue])).length > 0
  }

  // ---- administration ---------------------------------------------------------------------

  async getConfig(queue: string): Promise<QueueConfig> {
    const [r = {lease_ms: null, max_attempts: null, max_depth: null}] = await this.q<{max_depth: null | string; max_attempts: null | number; lease_ms: null | string}>(
      `SELECT max_depth, max_attempts, lease_ms FROM ${this.S}.queues WHERE name = $1`,
      [queue],
    )
    return {
      leaseMs: r.lease_ms === null ? DEFAULT_LEASE_MS : Number(r.lease_ms),
      maxAttempts: r.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
      ...(r.max_depth === null ? {} : {maxDepth: Number(r.max_depth)}),
    }
  }

  async setConfig(queue: string, patch: QueueConfigPatch): Promise<QueueConfig> {
    this.mayCreateSchema = true
    const cols: Record<string, string> = {leaseMs: 'lease_ms', maxAttempts: 'max_attempts', maxDepth: 'max_depth'}
    const sets: string[] = []
    const values: unknown[] = [queue]
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || !cols[k]) continue
      values.push(v)
      sets.push(`${cols[k]} = $${values.length}`)
    }
    await this.q(`INSERT INTO ${this.S}.queues (name) VALUES ($1) ON CONFLICT DO NOTHING`, [queue])
    if (sets.length > 0) await this.q(`UPDATE ${this.S}.queues SET ${sets.join(', ')} WHERE name = $1`, values)
    return this.getConfig(queue)
  }

  async pause(queue: string): Promise<void> {
    await this.q(`UPDATE ${this.S}.queues SET paused = true WHERE name = $1`, [queue])
  }

  async resume(queue: string): Promise<boolean> {
    const rows = await this.q(
      `WITH u AS (UPDATE ${this.S}.queues SET paused = false WHERE name = $1 AND paused RETURNING 1) SELECT pg_notify('${wakeChannel(this.cfg.schema)}', $1), (SELECT count(*) FROM u) AS n`,
      [queue],
    )
    return Number((rows[0] as {n: string}).n) > 0
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>> {
    await this.q(`SELECT ${this.S}.sweep($1, ${this.S}.now_ms())`, [queue])
    const rows = await this.q<{state: PurgeState; n: string}>(
      `WITH d AS (DELETE FROM ${this.S}.messages WHERE queue = $1 AND state = ANY($2) AND state <> 'inflight' RETURNING state) SELECT state, count(*) AS n FROM d GROUP BY state`,
      [queue, states],
    )
    const counts: Record<PurgeState, number> = {dead: 0, delayed: 0, done: 0, ready: 0}
    for (const r of rows) counts[r.state] = Number(r.n)
    const total = Object.values(counts).reduce((a, b) => a + b, 0)
    if (total > 0) onProgress?.(total)
    return counts
  }

  async requeue(queue: string, ids?: string[]): Promise<Requeued> {
    const rows = await this.q<{id: string; cleared: boolean}>(
      `WITH t AS (SELECT ${this.S}.now_ms() AS now),
       u AS (UPDATE ${this.S}.messages m SET state = 'ready', attempt = 0, reason = NULL, ended_at = NULL,
               expires_at = CASE WHEN m.expires_at <= t.now THEN NULL ELSE m.expires_at END
             FROM t, (SELECT id, expires_at <= (SELECT now FROM t) AS cleared FROM ${this.S}.messages
                      WHERE queue = $1 AND state = 'dead' AND ($2::text[] IS NULL OR id = ANY($2)) FOR UPDATE) o
             WHERE m.queue = $1 AND m.id = o.id RETURNING m.id, coalesce(o.cleared, false) AS cleared)
       SELECT id, cleared, pg_notify('${wakeChannel(this.cfg.schema)}', $1) FROM u ORDER BY id`,
      [queue, ids ?? null],
    )
    return {expiryCleared: rows.filter((r) => r.cleared).map((r) => r.id), requeued: rows.map((r) => r.id)}
  }

  async gc(queue: string, opts: GcOptions): Promise<{done: number; keys: number}> {
    const [r] = await this.q<{done: string; keys: string}>(
      `WITH t AS (SELECT ${this.S}.now_ms() AS now),
       d AS (DELETE FROM ${this.S}.messages WHERE queue = $1 AND state = 'done' AND ended_at <= (SELECT now FROM t) - $2 RETURNING 1),
       k AS (DELETE FROM ${this.S}.keys WHERE scope = 'queue:' || $1 AND expires_at <= (SELECT now FROM t) RETURNING 1)
       SELECT (SELECT count(*) FROM d) AS done, (SELECT count(*) FROM k) AS keys`,
      [queue, opts.doneOlderThanMs],
    )
    return {done: Number(r.done), keys: Number(r.keys)}
  }

  // ---- topics -----------------------------------------------------------------------------

  async subscribe(topic: string, queue: string): Promise<boolean> {
    this.mayCreateSchema = true
    const [r] = await this.q<{n: string}>(
      `WITH t AS (INSERT INTO ${this.S}.topics VALUES ($1) ON CONFLICT DO NOTHING),
       q AS (INSERT INTO ${this.S}.queues (name) VALUES ($2) ON CONFLICT DO NOTHING),
       s AS (INSERT INTO ${this.S}.subs VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1)
       SELECT count(*) AS n FROM s`,
      [topic, queue],
    )
    return Number(r.n) > 0
  }

  async unsubscribe(topic: string, queue: string): Promise<void> {
    const rows = await this.q(`DELETE FROM ${this.S}.subs WHERE topic = $1 AND queue = $2 RETURNING 1`, [topic, queue])
    if (rows.length === 0) throw new NotSubscribedError(topic, queue)
  }

  async subscribers(topic: string): Promise<string[] | undefined> {
    const rows = await this.q<{queue: null | string}>(
      `SELECT s.queue FROM ${this.S}.topics t LEFT JOIN ${this.S}.subs s ON s.topic = t.name WHERE t.name = $1 ORDER BY s.queue COLLATE "C"`,
      [topic],
    )
    if (rows.length === 0) return undefined
    return rows.flatMap((r) => (r.queue === null ? [] : [r.queue]))
  }

  async topics(): Promise<string[]> {
    return (await this.q<{name: string}>(`SELECT name FROM ${this.S}.topics ORDER BY name COLLATE "C"`)).map((r) => r.name)
  }

}
