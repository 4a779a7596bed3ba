import type {Client as PgClient} from 'pg'

import {formatDuration} from '../../duration.js'
import {ConfigError, ConnectionLostError, MqError, ServerRefusedError, ServerUnavailableError} from '../../errors.js'
import {EXIT} from '../../exit-codes.js'
import {randomBytesFast} from '../../lazy.js'
import {type RelayTarget} from '../../relay/protocol.js'
import {NO_PASSWORD} from './no-password.js'
import {INSTALL, SCHEMA_VERSION, wakeChannel} from './schema.js'
import {DEFAULT_SCHEMA, type PgUrl, parsePostgresUrl} from './url.js'

/**
 * The PostgreSQL engine's connection: made on first use, the schema installed or brought up to
 * date then (never by inspection on a schema that does not exist), LISTEN for wake-ups, driver
 * errors turned into one line and 69 (or 78), and the server's durability settings said. The
 * transitions (./index.ts) are built on it.
 */
export abstract class PgConnection {
  abstract exists(queue: string): Promise<boolean>

  protected readonly cfg: PgUrl
  protected readonly S: string
  protected readonly node = randomBytesFast(8).toString('hex')
  protected connecting?: Promise<PgClient>
  protected client?: PgClient
  /**
   * Whether this client's work may create the URL's schema: the operations that may make a
   * queue (push, claim, config, subscribe) do; inspection and administration never do, so
   * that `mq stats` on a misspelt schema= says so (78) instead of creating it.
   */
  protected mayCreateSchema = false
  protected listening = false
  protected waiters = new Set<(queue: string) => void>()
  protected lastError?: Error

  /** {lean}: connect through ./lean.ts, not pg's Client, unless the URL asks for TLS (see there). */
  protected readonly lean: boolean
  /** {relay}: a push goes through the push relay first (src/relay/), unless the URL says relay=off. */
  protected readonly relay?: RelayTarget

  constructor(url: string, opts: {lean?: boolean; relay?: boolean} = {}) {
    this.cfg = parsePostgresUrl(url)
    this.S = `"${this.cfg.schema}"`
    this.lean = Boolean(opts.lean)
    if (opts.relay && this.cfg.relayIdleMs > 0)
      this.relay = {display: this.cfg.display, idleMs: this.cfg.relayIdleMs, replyTimeoutMs: this.cfg.connectTimeoutMs + this.cfg.commandTimeoutMs, url}
  }

  // ---- connection -------------------------------------------------------------------------

  protected closed = false

  protected db(): Promise<PgClient> {
    // Closed is closed: a late call must not open a connection that keeps the process alive.
    if (this.closed) return Promise.reject(new ServerUnavailableError(this.cfg.display, 'the connection was closed'))
    this.connecting ??= this.connect()
    return this.connecting
  }

  /** A client as pg's Client, or the lean connection (./lean.ts) where it will do. */
  private async newClient(): Promise<PgClient> {
    const config = {
      connectionString: this.cfg.connectionString,
      connectionTimeoutMillis: this.cfg.connectTimeoutMs,
      query_timeout: this.cfg.commandTimeoutMs,
      // The server cancels a statement before this client stops waiting for it, so that a
      // statement given up on is never committed later (one waiting behind a lock, say): the
      // client then hears the cancellation (57014, 75: nothing of it was stored), not silence.
      statement_timeout: statementTimeout(this.cfg.commandTimeoutMs),
    }
    if (this.lean) {
      const {LeanPg} = await import('./lean.js')
      const lean = new LeanPg(config)
      if (!lean.wantsTls) return lean as unknown as PgClient
    }
    const pg = (await import('pg')).default
    return new pg.Client({
      ...config,
      // Statements of concurrent callers (consume -j N on one connection) go out together, each
      // its own extended-protocol exchange ending in its own Sync (an error stays with its own
      // statement), instead of queueing in the client one round trip at a time; node-postgres
      // deprecates that queueing. Nothing here holds a transaction open across awaits while
      // others use the connection (migrate runs before anyone else has it).
      pipeline: true,
    } as ConstructorParameters<typeof pg.Client>[0])
  }

  protected async connect(): Promise<PgClient> {
    const client = await this.newClient()
    client.on('error', (error: Error) => {
      this.lastError = error
    })
    // A connection that ends (lost, or the server shut it) is made again on next use; its
    // LISTEN went with it. (A write whose reply was lost is tried again on the new one.)
    client.on('end', () => {
      if (this.client !== client) return
      this.client = undefined
      this.connecting = undefined
      this.listening = false
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
  protected async migrate(c: PgClient): Promise<void> {
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
      await c.query(await INSTALL(this.cfg.schema))
      await c.query(`DELETE FROM ${this.S}.schema_version`)
      await c.query(`INSERT INTO ${this.S}.schema_version VALUES (${SCHEMA_VERSION})`)
      await c.query('COMMIT')
    } catch (error) {
      await c.query('ROLLBACK').catch(() => {})
      throw this.failure(error)
    }
  }

  /** A driver's error as mq's; `phase` says which timeout can have fired (connecting, or a command). */
  protected failure(error: unknown, phase: 'command' | 'connect' | 'sent' = 'command'): Error {
    if (error instanceof MqError) return error
    const e = error as Error & {code?: string; severity?: string}
    if (e?.code === '57014')
      return new ServerRefusedError(this.cfg.display, `${e.message}: it ran past command_timeout (${formatDuration(this.cfg.commandTimeoutMs)}) and the server cancelled it; nothing of it was stored`, EXIT.TEMP_FAIL)
    if (e?.severity) return new ServerRefusedError(this.cfg.display, e.message, refusalStatus(e.code))
    // pg's Client, asked for a password it was not given, says so in its SASL code's words;
    // said as the lean connection says it (./lean.ts), and a refusal (77), not a lost server.
    if (/client password must be a string/.test(e?.message ?? '')) return new ServerRefusedError(this.cfg.display, NO_PASSWORD, EXIT.NO_PERM)
    // 'sent': the statement went out on a connection that was up; what became of it is unknown.
    const Lost = phase === 'sent' ? ConnectionLostError : ServerUnavailableError
    if (/timeout/i.test(e?.message ?? '')) {
      const which = phase === 'connect' ? `no connection within ${formatDuration(this.cfg.connectTimeoutMs)} (connect_timeout)` : `the server did not answer within ${formatDuration(this.cfg.commandTimeoutMs)} (command_timeout)`
      return new Lost(this.cfg.display, which)
    }
    const code = e?.code ?? (this.lastError as {code?: string} | undefined)?.code
    const why = code ?? e?.message ?? String(error)
    return phase === 'sent' ? new Lost(this.cfg.display, `the connection was lost (${why})`) : new Lost(this.cfg.display, `cannot reach the server (${why})`)
  }

  protected async q<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    const c = await this.db()
    try {
      return (await c.query(text, values)).rows as T[]
    } catch (error) {
      throw this.failure(error, 'sent')
    }
  }


  protected async listen(): Promise<void> {
    if (this.listening) return
    await this.q(`LISTEN "${wakeChannel(this.cfg.schema)}"`)
    this.listening = true
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
    this.closed = true
    const c = this.client
    this.client = undefined
    this.connecting = undefined
    if (c) await c.end().catch(() => {})
  }
}


/**
 * The exit status of a PostgreSQL error, by its SQLSTATE class: authentication and privileges
 * (28xxx: a wrong password, an unknown role, pg_hba refusing; 42501) are 77; a database that
 * does not exist (3D000) or a server that takes no writes (25006, a standby) is 78; too many
 * connections and other short resources (53xxx), a server starting up or shutting down (57P03),
 * a statement cancelled or timed out (57014), serialization failures and deadlocks (40xxx) are
 * 75, worth a retry later; anything else 69.
 */
export function refusalStatus(code: string | undefined): typeof EXIT.CONFIG | typeof EXIT.NO_PERM | typeof EXIT.TEMP_FAIL | typeof EXIT.UNAVAILABLE {
  if (code === undefined) return EXIT.UNAVAILABLE
  if (code.startsWith('28') || code === '42501') return EXIT.NO_PERM
  if (code === '3D000' || code === '25006') return EXIT.CONFIG
  if (code.startsWith('53') || code.startsWith('40') || code === '57P03' || code === '57014') return EXIT.TEMP_FAIL
  return EXIT.UNAVAILABLE
}

/** The server's statement_timeout for a command_timeout: up to a second less, so the server gives up first. */
export function statementTimeout(commandTimeoutMs: number): number {
  return Math.max(1, commandTimeoutMs - Math.min(1000, Math.floor(commandTimeoutMs / 4)))
}
