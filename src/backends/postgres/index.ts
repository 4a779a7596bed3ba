import {existsSync} from 'node:fs'
import type {Client as PgClient} from 'pg'

import {
  ALL_CAPABILITIES,
  type Backend,
  type Capabilities,
  type ClaimAttempt,
  type ClaimRequest,
  type DeadReason,
  type Delivery,
  type Failure,
  type GcOptions,
  type MessageInfo,
  type MessageState,
  type PeekRequest,
  type PurgeState,
  type Pushed,
  type PushInput,
  type PushOptions,
  type QueueConfig,
  type QueueConfigPatch,
  type QueueStats,
  type Released,
  type ReleaseOptions,
  type Requeued,
  type Wakeup,
} from '../../backend.js'
import {claimWithWait} from '../../queue.js'
import {formatDuration} from '../../duration.js'
import {ConfigError, MqError, NoSubscribersError, NoSuchQueueError, NotInFlightError, NotSubscribedError, QueueFullError, ServerUnavailableError} from '../../errors.js'
import {lazy, randomBytesFast} from '../../lazy.js'
import {DEFAULT_KEY_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS} from '../../policy.js'
import {parseReceipt, pushBodies, retryWhileFull, UrlOptions, wakeupFrom} from '../common.js'
import {INSTALL, SCHEMA_VERSION, wakeChannel} from './schema.js'

/**
 * The PostgreSQL engine: every queue in a PostgreSQL (15 or later) database, shared by any
 * number of processes and hosts. Each transition is one statement (./schema.ts, where the
 * tables and functions are), so one transaction; time is the server's.
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
/** The schema of a URL that names none: created by any first use (nothing to misspell). */
const DEFAULT_SCHEMA = 'mq'
const PASSED_ON = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat', 'application_name', 'fallback_application_name', 'options', 'host', 'client_encoding']
const SSLMODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full']

export const POSTGRES_CAPABILITIES: Capabilities = {...ALL_CAPABILITIES}

interface PgUrl {
  connectionString: string
  schema: string
  connectTimeoutMs: number
  commandTimeoutMs: number
  display: string
}

export function parsePostgresUrl(url: string): PgUrl {
  const o = new UrlOptions(url)
  const u = o.url
  const schema = o.take('schema') ?? DEFAULT_SCHEMA
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) throw o.error('schema= takes 1 to 41 lowercase letters, digits or "_"')
  const connectTimeoutMs = o.duration('connect_timeout', 2000)
  const commandTimeoutMs = o.duration('command_timeout', 10_000)
  if (u.pathname === '' || u.pathname === '/') throw o.error('the path names a database (postgres://user@host/DATABASE)')
  const unknown = o.rest().filter((name) => !PASSED_ON.includes(name))
  if (unknown.length > 0) throw o.error(`unknown option ${unknown[0]}= (schema, connect_timeout, command_timeout, ${PASSED_ON.join(', ')})`)
  const sslmode = u.searchParams.get('sslmode')
  if (sslmode !== null && !SSLMODES.includes(sslmode)) throw o.error(`sslmode= takes one of ${SSLMODES.join(', ')}`)
  if (sslmode === 'verify-ca' && !u.searchParams.has('sslrootcert')) throw o.error('sslmode=verify-ca needs sslrootcert=FILE (the CA to verify the server against)')
  for (const file of ['sslrootcert', 'sslcert', 'sslkey']) {
    const path = u.searchParams.get(file)
    if (path !== null && !existsSync(path)) throw o.error(`${file}=: no such file: ${path}`)
  }
  if (sslmode !== null && !u.searchParams.has('uselibpqcompat')) u.searchParams.set('uselibpqcompat', 'true')
  const display = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`
  return {commandTimeoutMs, connectTimeoutMs, connectionString: u.toString(), display, schema}
}

interface Row {
  queue: string
  id: string
  body: Buffer
  priority: number
  attempt: number
  state: MessageState
  enqueued_at: string
  not_before: null | string
  lease_until: null | string
  token: null | string
  expires_at: null | string
  key: null | string
  headers: null | string
  topic: null | string
  reason: null | string
}

export class PostgresBackend implements Backend {
  readonly kind = 'postgres'
  readonly capabilities = POSTGRES_CAPABILITIES
  private readonly cfg: PgUrl
  private readonly S: string
  private readonly node = randomBytesFast(8).toString('hex')
  private connecting?: Promise<PgClient>
  private client?: PgClient
  /**
   * Whether this client's work may create the URL's schema: the operations that may make a
   * queue (push, claim, config, subscribe) do; inspection and administration never do, so
   * that `mq stats` on a misspelt schema= says so (78) instead of creating it.
   */
  private mayCreateSchema = false
  private listening = false
  private waiters = new Set<(queue: string) => void>()
  private lastError?: Error

  constructor(url: string) {
    this.cfg = parsePostgresUrl(url)
    this.S = `"${this.cfg.schema}"`
  }

  // ---- connection -------------------------------------------------------------------------

  private db(): Promise<PgClient> {
    this.connecting ??= this.connect()
    return this.connecting
  }

  private async connect(): Promise<PgClient> {
    const pg = (await import('pg')).default
    const client = new pg.Client({
      connectionString: this.cfg.connectionString,
      connectionTimeoutMillis: this.cfg.connectTimeoutMs,
      query_timeout: this.cfg.commandTimeoutMs,
    })
    client.on('error', (error: Error) => {
      this.lastError = error
    })
    client.on('notification', (n) => {
      for (const w of [...this.waiters]) w(n.payload ?? '')
    })
    try {
      await client.connect()
    } catch (error) {
      this.connecting = undefined
      await client.end().catch(() => {})
      throw this.failure(error, 'connect')
    }
    this.client = client
    await this.migrate(client)
    return client
  }

  /**
   * The schema, created (or brought up to this version) on first use. RACE: two processes
   * creating it at once: an advisory lock (per schema name) makes the second wait, then find it
   * made, and install nothing.
   */
  private async migrate(c: PgClient): Promise<void> {
    try {
      const r = await c.query(`SELECT version FROM ${this.S}.schema_version`)
      if (r.rows[0]?.version === SCHEMA_VERSION) return
      if (r.rows[0]?.version > SCHEMA_VERSION) throw new ConfigError(`${this.cfg.display}: schema ${this.cfg.schema} is version ${r.rows[0].version}, newer than this mq (${SCHEMA_VERSION}): upgrade mq`)
    } catch (error) {
      if (error instanceof MqError) throw error
      const code = (error as {code?: string}).code
      if (code !== '42P01' && code !== '3F000') throw this.failure(error)
      if (!this.mayCreateSchema && this.cfg.schema !== DEFAULT_SCHEMA && (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.cfg.schema]).catch((e) => Promise.reject(this.failure(e)))).rowCount === 0) {
        this.connecting = undefined
        await c.end().catch(() => {})
        throw new ConfigError(`${this.cfg.display}: schema "${this.cfg.schema}" does not exist (a push, pop, mq config or mq subscribe creates it: is schema= in the URL right?)`)
      }
    }
    try {
      await c.query('BEGIN')
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mq-schema:${this.cfg.schema}`])
      // RACE: the process that held the lock may have just installed this version: then there
      // is nothing to do. (Installing again would lock the tables it alters while others
      // already push, and deadlock with them.)
      const [made] = (await c.query(`SELECT to_regclass($1) AS t`, [`${this.S}.schema_version`])).rows
      if (made.t !== null && (await c.query(`SELECT version FROM ${this.S}.schema_version`)).rows[0]?.version === SCHEMA_VERSION) {
        await c.query('COMMIT')
        return
      }
      await c.query(INSTALL(this.cfg.schema))
      await c.query(`DELETE FROM ${this.S}.schema_version`)
      await c.query(`INSERT INTO ${this.S}.schema_version VALUES (${SCHEMA_VERSION})`)
      await c.query('COMMIT')
    } catch (error) {
      await c.query('ROLLBACK').catch(() => {})
      throw this.failure(error)
    }
  }

  /** A driver's error as mq's; `phase` says which timeout can have fired (connecting, or a command). */
  private failure(error: unknown, phase: 'command' | 'connect' = 'command'): Error {
    if (error instanceof MqError) return error
    const e = error as Error & {code?: string; severity?: string}
    if (e?.severity) return new ServerUnavailableError(this.cfg.display, `the server refused: ${e.message}`)
    if (/timeout/i.test(e?.message ?? '')) {
      const which = phase === 'connect' ? `no connection within ${formatDuration(this.cfg.connectTimeoutMs)} (connect_timeout)` : `the server did not answer within ${formatDuration(this.cfg.commandTimeoutMs)} (command_timeout)`
      return new ServerUnavailableError(this.cfg.display, which)
    }
    const code = e?.code ?? (this.lastError as {code?: string} | undefined)?.code
    return new ServerUnavailableError(this.cfg.display, `cannot reach the server (${code ?? e?.message ?? String(error)})`)
  }

  private async q<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    const c = await this.db()
    try {
      return (await c.query(text, values)).rows as T[]
    } catch (error) {
      throw this.failure(error)
    }
  }

  private async existing(queue: string): Promise<void> {
    if (!(await this.exists(queue))) throw new NoSuchQueueError(queue)
  }

  // ---- push -------------------------------------------------------------------------------

  async push(queue: string, messages: PushInput[], opts: PushOptions = {}): Promise<Pushed[]> {
    this.mayCreateSchema = true
    const bodies = await pushBodies(messages)
    return retryWhileFull(opts.waitMs, 50, async () => this.pushNow(queue, messages, bodies, opts))
  }

  private async pushNow(queue: string, inputs: PushInput[], bodies: Buffer[], opts: PushOptions): Promise<Pushed[]> {
    const now = Date.now()
    const rows = await this.q<{status: string; id: string; state: 'delayed' | 'ready'}>(`SELECT * FROM ${this.S}.push($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      queue,
      this.node,
      opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS,
      inputs[0]?.key ?? null,
      inputs.map((m) => m.priority ?? 0),
      inputs.map((m) => (m.notBefore === undefined ? 0 : Math.max(0, m.notBefore - now))),
      inputs.map((m) => (m.expiresAt === undefined ? null : m.expiresAt - now)),
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

  async claim(queue: string, req: ClaimRequest = {}): Promise<Delivery | null> {
    return claimWithWait(this, queue, req)
  }

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

  private async listen(): Promise<void> {
    if (this.listening) return
    await this.q(`LISTEN "${wakeChannel(this.cfg.schema)}"`)
    this.listening = true
  }

  /** SQL for the lease a claim or renewal of queue $1 grants: the given one (param), else the queue's, else the default. */
  private leaseGranted(param: string): string {
    return `coalesce(${param}::bigint, (SELECT lease_ms FROM ${this.S}.queues WHERE name = $1), ${DEFAULT_LEASE_MS})`
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
    await this.existing(queue)
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
    if (queue !== undefined) await this.existing(queue)
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
    const [r] = await this.q<{max_depth: null | string; max_attempts: null | number; lease_ms: null | string}>(`SELECT max_depth, max_attempts, lease_ms FROM ${this.S}.queues WHERE name = $1`, [queue])
    if (!r) throw new NoSuchQueueError(queue)
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
    await this.existing(queue)
    await this.q(`UPDATE ${this.S}.queues SET paused = true WHERE name = $1`, [queue])
  }

  async resume(queue: string): Promise<boolean> {
    await this.existing(queue)
    const rows = await this.q(
      `WITH u AS (UPDATE ${this.S}.queues SET paused = false WHERE name = $1 AND paused RETURNING 1) SELECT pg_notify('${wakeChannel(this.cfg.schema)}', $1), (SELECT count(*) FROM u) AS n`,
      [queue],
    )
    return Number((rows[0] as {n: string}).n) > 0
  }

  async purge(queue: string, states: PurgeState[], onProgress?: (n: number) => void): Promise<Record<PurgeState, number>> {
    await this.existing(queue)
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
    await this.existing(queue)
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
    await this.existing(queue)
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

  /** What weakens a commit here: synchronous_commit off, fsync off. */
  async warnings(): Promise<string[]> {
    const out: string[] = []
    const [r] = await this.q<{sc: string; fs: string}>(`SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fs`)
    if (r.fs === 'off') out.push(`${this.cfg.display}: fsync is off: a crash of the server can lose or corrupt committed pushes`)
    if (r.sc === 'off') out.push(`${this.cfg.display}: synchronous_commit is off: a crash of the server can lose the last pushes that printed their ids`)
    return out
  }

  async close(): Promise<void> {
    const c = this.client
    this.client = undefined
    this.connecting = undefined
    if (c) await c.end().catch(() => {})
  }
}

function meta(r: Row) {
  return {
    ...(r.key === null ? {} : {key: r.key}),
    ...(r.headers === null ? {} : {headers: JSON.parse(r.headers) as Record<string, string>}),
    ...(r.expires_at === null ? {} : {expiresAt: Number(r.expires_at)}),
    ...(r.topic === null ? {} : {topic: r.topic}),
  }
}

function delivery(queue: string, r: Row & {lease_ms: string}): Delivery {
  const body = r.body
  return {
    attempt: r.attempt,
    body,
    enqueuedAt: Number(r.enqueued_at),
    id: r.id,
    leaseMs: Number(r.lease_ms),
    leaseUntil: Number(r.lease_until),
    openBody: () => lazy.stream().Readable.from([body]),
    priority: r.priority,
    queue,
    receipt: `${r.id}:${r.token}`,
    size: body.length,
    ...meta(r),
  }
}
