import {existsSync} from 'node:fs'

import {DEFAULT_MAX_BODY, MAX_BODY_CAP, UrlOptions} from '../common.js'

/** The schema of a URL that names none: created by any first use (nothing to misspell). */
export const DEFAULT_SCHEMA = 'mq'
const PASSED_ON = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat', 'application_name', 'fallback_application_name', 'options', 'host', 'client_encoding']
const SSLMODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full']

export interface PgUrl {
  connectionString: string
  schema: string
  connectTimeoutMs: number
  commandTimeoutMs: number
  /** max_body=: the largest body taken (bytes). */
  maxBodyBytes: number
  /** relay=: how long a command line's push relay stays after its last push (src/relay/); 0: none. */
  relayIdleMs: number
  display: string
}

export function parsePostgresUrl(url: string): PgUrl {
  const o = new UrlOptions(url)
  const u = o.url
  const schema = o.take('schema') ?? DEFAULT_SCHEMA
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) throw o.error('schema= takes 1 to 41 lowercase letters, digits or "_"')
  // PostgreSQL's own schemas (pg_catalog, pg_toast, information_schema...; names beginning pg_
  // are reserved to it): mq's tables must never be created there. Refused before connecting.
  if (schema.startsWith('pg_') || schema === 'information_schema') throw o.error(`schema=${schema} is one of PostgreSQL's system schemas; name a schema of mq's own`)
  const connectTimeoutMs = o.duration('connect_timeout', 2000)
  const commandTimeoutMs = o.duration('command_timeout', 10_000)
  const maxBodyBytes = o.size('max_body', DEFAULT_MAX_BODY, MAX_BODY_CAP)
  // relay=off (or 0): no relay for this URL's pushes; else how long one stays after its last push.
  const relayIdleMs = ['off', '0'].includes(o.url.searchParams.get('relay') ?? '') ? (o.take('relay'), 0) : o.duration('relay', 10_000)
  if (u.pathname === '' || u.pathname === '/') throw o.error('the path names a database (postgres://user@host/DATABASE)')
  const unknown = o.rest().filter((name) => !PASSED_ON.includes(name))
  if (unknown.length > 0) throw o.error(`unknown option ${unknown[0]}= (schema, connect_timeout, command_timeout, max_body, relay, ${PASSED_ON.join(', ')})`)
  const sslmode = u.searchParams.get('sslmode')
  if (sslmode !== null && !SSLMODES.includes(sslmode)) throw o.error(`sslmode= takes one of ${SSLMODES.join(', ')}`)
  if (sslmode === 'verify-ca' && !u.searchParams.has('sslrootcert')) throw o.error('sslmode=verify-ca needs sslrootcert=FILE (the CA to verify the server against)')
  for (const file of ['sslrootcert', 'sslcert', 'sslkey']) {
    const path = u.searchParams.get(file)
    if (path !== null && !existsSync(path)) throw o.error(`${file}=: no such file: ${path}`)
  }
  if (sslmode !== null && !u.searchParams.has('uselibpqcompat')) u.searchParams.set('uselibpqcompat', 'true')
  const display = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`
  return {commandTimeoutMs, connectTimeoutMs, connectionString: u.toString(), display, maxBodyBytes, relayIdleMs, schema}
}

