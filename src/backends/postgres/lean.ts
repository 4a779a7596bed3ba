import {connect as netConnect, type Socket} from 'node:net'
import ConnectionParameters from 'pg/lib/connection-parameters.js'
import {prepareValue} from 'pg/lib/utils.js'
import {type DatabaseError, parse, serialize} from 'pg-protocol'
import pgTypes from 'pg-types'

import {NO_PASSWORD} from './no-password.js'

/**
 * The lean connection: what the command line's hot verbs (push, pop, ack, nack, consume) talk
 * to PostgreSQL through, in place of node-postgres's Client. Why:
 * evaluating `pg` costs a cold `mq push` about 50 ms (its pool, native bindings, TLS and crypto
 * set-up), against well under 1 ms for the statements themselves (README, Performance). It is
 * made of node-postgres's own parts, so that what it sends and what it returns are the Client's:
 * its connection parameters (ConnectionParameters: the URL, PG* variables and defaults), its
 * protocol (pg-protocol: the serializer and the parser), its value preparation (prepareValue)
 * and its type parsers (pg-types), and, for a password, its MD5 and SCRAM code and its pgpass
 * lookup. Behind the part of the Client's interface the engine calls: connect(), query(text,
 * values) giving {rows, rowCount}, end(), and the 'error', 'end' and 'notification' events.
 *
 * As the Client does: a statement with values goes as one extended-protocol exchange (Parse,
 * Bind, Describe, Execute, Sync), one without as a simple query; statements of concurrent
 * callers are written at once and answered in order, each ending at its own ReadyForQuery (an
 * error stays with its statement). Its failures read as the Client's, which PgConnection.failure()
 * maps to exit statuses: a server's error is pg-protocol's DatabaseError, a socket's error
 * keeps its code, "timeout expired" when connect_timeout passes, "Query read timeout" when a
 * statement goes unanswered (the connection is then ended: a late answer cannot be taken for
 * the next statement's).
 *
 * Not for: TLS (sslmode=...; the Client keeps that). The library, the dashboard and the other
 * commands keep the Client unless opened with {lean: true}.
 */
export interface LeanPgConfig {
  connectionString: string
  connectionTimeoutMillis?: number
  query_timeout?: number
  statement_timeout?: number
}

interface Result {
  rowCount: null | number
  rows: Array<Record<string, unknown>>
}

interface Pending {
  error?: Error
  /** The statement this exchange prepares, until the server says it parsed (ParseComplete). */
  parsing?: string
  text: string
  parsers?: Array<{name: string; parse: (text: string) => unknown}>
  reject: (error: Error) => void
  resolve: (result: Result) => void
  result: Result
  timer?: NodeJS.Timeout
}

type Listener = (arg: never) => void

interface Message {
  name: string
  [field: string]: unknown
}

export class LeanPg {
  private readonly params: ConnectionParameters
  private socket?: Socket
  private readonly pending: Pending[] = []
  private readonly listeners = new Map<string, Listener[]>()
  private ended = false
  private ready?: {reject: (error: Error) => void; resolve: () => void}
  private sasl?: {session: unknown}
  private readonly prepared = new Map<string, string>()

  constructor(private readonly config: LeanPgConfig) {
    this.params = new ConnectionParameters(config)
  }

  /** Whether the URL (or PGSSLMODE) asks for TLS, which only the Client does: pg's own reading of it. */
  get wantsTls(): boolean {
    return Boolean(this.params.ssl)
  }

  on(event: 'end' | 'error' | 'notification', listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener])
    return this
  }

  /** Connected, authenticated, and ready for a statement. */
  connect(): Promise<void> {
    const {host, port} = this.params
    const socket = (this.socket = host?.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host))
    socket.setNoDelay(true)
    return new Promise((resolve, reject) => {
      const timer = this.config.connectionTimeoutMillis ? setTimeout(() => socket.destroy(new Error('timeout expired')), this.config.connectionTimeoutMillis) : undefined
      this.ready = {
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      socket.once('connect', () => socket.write(serialize.startup(this.startupConf())))
      socket.on('error', (error) => this.fail(error))
      socket.on('close', () => this.fail(new Error(this.ended ? 'Connection terminated' : 'Connection terminated unexpectedly')))
      void parse(socket, (msg) => this.message(msg as unknown as Message))
    })
  }

  /** One statement; its rows parsed as the Client parses them. */
  query(text: string, values: unknown[] = []): Promise<Result> {
    return new Promise((resolve, reject) => {
      if (this.ended || !this.socket) return reject(new Error('Client was closed and is not queryable'))
      const p: Pending = {reject, resolve, result: {rowCount: null, rows: []}, text}
      const timeout = this.config.query_timeout
      if (timeout) {
        p.timer = setTimeout(() => {
          reject(new Error('Query read timeout'))
          this.socket?.destroy()
        }, timeout)
      }
      this.pending.push(p)
      if (values.length === 0) {
        this.socket.write(serialize.query(text))
        return
      }
      // A statement sent before is bound to the prepared statement of the first time: no parse
      // and plan again per message (a worker sends the same few thousands of times).
      let name = this.prepared.get(text)
      this.socket.cork()
      if (name === undefined) {
        name = `mq${this.prepared.size}`
        this.prepared.set(text, name)
        p.parsing = text
        this.socket.write(serialize.parse({name, text, types: []}))
      }
      this.socket.write(serialize.bind({statement: name, values: values.map((v) => prepareValue(v))}))
      this.socket.write(serialize.describe({type: 'P'}))
      this.socket.write(serialize.execute())
      this.socket.write(serialize.sync())
      this.socket.uncork()
    })
  }

  /**
   * Sends Terminate and does not wait for the server to close its side: its backend's exit is
   * the server's business (about 8 ms here), and the process may exit meanwhile (the socket no
   * longer holds it; what was written is still delivered).
   */
  async end(): Promise<void> {
    if (this.ended || !this.socket) return
    this.ended = true
    this.socket.end(serialize.end())
    this.socket.unref()
  }

  /** As the Client's getStartupConf. */
  private startupConf(): Record<string, string> {
    const p = this.params
    const conf: Record<string, string> = {database: p.database, user: p.user}
    const appName = p.application_name || p.fallback_application_name
    if (appName) conf.application_name = appName
    if (p.replication) conf.replication = String(p.replication)
    if (p.statement_timeout) conf.statement_timeout = String(Number.parseInt(String(p.statement_timeout), 10))
    if (p.lock_timeout) conf.lock_timeout = String(Number.parseInt(String(p.lock_timeout), 10))
    if (p.idle_in_transaction_session_timeout) conf.idle_in_transaction_session_timeout = String(Number.parseInt(String(p.idle_in_transaction_session_timeout), 10))
    if (p.options) conf.options = p.options
    return conf
  }

  private emit(event: string, arg: unknown): void {
    for (const l of this.listeners.get(event) ?? []) (l as (a: unknown) => void)(arg)
  }

  private message(msg: Message): void {
    const p = this.pending[0]
    switch (msg.name) {
      case 'authenticationCleartextPassword':
        void this.password().then((pw) => this.socket?.write(serialize.password(pw)), (error: Error) => this.fail(error))
        return
      case 'authenticationMD5Password':
        void this.password()
          .then(async (pw) => {
            const {postgresMd5PasswordHash} = await import('pg/lib/crypto/utils.js')
            this.socket?.write(serialize.password(await postgresMd5PasswordHash(this.params.user, pw, msg.salt as Buffer)))
          })
          .catch((error: Error) => this.fail(error))
        return
      case 'authenticationSASL':
        void this.password()
          .then(async () => {
            const sasl = await import('pg/lib/crypto/sasl.js')
            const session = sasl.startSession(msg.mechanisms as string[])
            this.sasl = {session}
            this.socket?.write(serialize.sendSASLInitialResponseMessage(session.mechanism, session.response))
          })
          .catch((error: Error) => this.fail(error))
        return
      case 'authenticationSASLContinue':
        void (async () => {
          const sasl = await import('pg/lib/crypto/sasl.js')
          await sasl.continueSession(this.sasl!.session, this.params.password, msg.data as string)
          this.socket?.write(serialize.sendSCRAMClientFinalMessage((this.sasl!.session as {response: string}).response))
        })().catch((error: Error) => this.fail(error))
        return
      case 'authenticationSASLFinal':
        void import('pg/lib/crypto/sasl.js')
          .then((sasl) => sasl.finalizeSession(this.sasl!.session, msg.data as string))
          .catch((error: Error) => this.fail(error))
        return
      case 'parseComplete':
        if (p) p.parsing = undefined
        return
      case 'notification':
        this.emit('notification', msg)
        return
      case 'rowDescription':
        if (p) {
          // A simple query of several statements: the last one's rows are the result.
          p.result.rows = []
          p.parsers = (msg.fields as Array<{dataTypeID: number; format: string; name: string}>).map((f) => ({name: f.name, parse: pgTypes.getTypeParser(f.dataTypeID, f.format as 'text')}))
        }
        return
      case 'dataRow':
        if (p?.parsers) {
          const row: Record<string, unknown> = {}
          const fields = msg.fields as Array<null | string>
          for (const [i, f] of p.parsers.entries()) row[f.name] = fields[i] === null ? null : f.parse(fields[i]!)
          p.result.rows.push(row)
        }
        return
      case 'commandComplete': {
        const n = /(\d+)$/.exec(msg.text as string)
        if (p) p.result.rowCount = n ? Number(n[1]) : null
        return
      }
      case 'error':
        if (this.ready) return this.fail(msg as unknown as DatabaseError)
        // A statement that did not parse was not prepared, and one whose plan the server can no
        // longer use (0A000: a function it calls was replaced with another result type, by an
        // upgrade) is prepared anew: either way, the next time it is sent whole again.
        if (p?.parsing !== undefined || (p && (msg as {code?: string}).code === '0A000')) this.prepared.delete(p.text)
        if (p) p.error ??= msg as unknown as DatabaseError
        else this.emit('error', msg)
        return
      case 'readyForQuery':
        if (this.ready) {
          const r = this.ready
          this.ready = undefined
          r.resolve()
          return
        }
        if (p) {
          this.pending.shift()
          clearTimeout(p.timer)
          if (p.error) p.reject(p.error)
          else p.resolve(p.result)
        }
    }
  }

  /** The password: the URL's, else ~/.pgpass's (as the Client finds it). */
  private async password(): Promise<string> {
    if (typeof this.params.password === 'string') return this.params.password
    const {default: pgPass} = await import('pgpass')
    const found = await new Promise<string | undefined>((resolve) => pgPass(this.params, resolve))
    // As the server's own refusals read (a SQLSTATE of class 28: 77), not as a lost connection.
    if (found === undefined) throw Object.assign(new Error(NO_PASSWORD), {code: '28000', severity: 'FATAL'})
    this.params.password = found
    return found
  }

  /** The connection is over: connecting or every statement still waiting fails with the error. */
  private fail(error: Error): void {
    const wasEnded = this.ended
    this.ended = true
    this.socket?.destroy()
    if (this.ready) {
      const r = this.ready
      this.ready = undefined
      r.reject(error)
    } else if (!wasEnded && this.pending.length === 0 && !/^Connection terminated/.test(error.message)) {
      // Nothing is waiting to be told: said as the Client says it, as an 'error' event.
      this.emit('error', error)
    }
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer)
      p.reject(error)
    }
    if (!this.endEmitted) {
      this.endEmitted = true
      process.nextTick(() => this.emit('end', undefined))
    }
  }

  private endEmitted = false
}
