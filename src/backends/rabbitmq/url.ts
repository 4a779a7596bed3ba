import {DEFAULT_MAX_BODY, UrlOptions} from '../common.js'

/** RabbitMQ refuses a message larger than its max_message_size, 128 MiB by default (and at most 512 MiB). */
export const AMQP_MAX_BODY_CAP = 128 * 1024 ** 2

export interface AmqpUrl {
  /** What amqplib's connect takes: the URL's parts, our options removed. */
  connect: {protocol: 'amqp' | 'amqps'; hostname: string; port: number; username: string; password: string; vhost: string; heartbeat: number}
  /** connect_timeout=: how long to try to connect (default 2s); then 69. */
  connectTimeoutMs: number
  /** max_body=: the largest body taken (bytes); default 32 MiB, at most 128 MiB (the broker's default max_message_size). */
  maxBodyBytes: number
  /** prefix=: every name this mq makes on the broker starts with PREFIX/ (several independent mq's on one vhost). */
  prefix: string
  /** The URL without its password, for messages. */
  display: string
}

/**
 * Reads an amqp:// or amqps:// URL: amqp://[USER[:PASSWORD]@]HOST[:PORT][/VHOST][?OPTIONS], the
 * vhost URL-encoded (%2F for "/", the default when the path is empty). Options:
 *   prefix=NAME          names on the broker start with NAME/ (default: none)
 *   max_body=SIZE        the largest body taken (default 32MiB, at most 128MiB); else 65
 *   connect_timeout=D    how long to try to connect (default 2s); then 69
 *   heartbeat=D          AMQP heartbeat (default 30s): a dead broker is noticed within two
 * Anything else is a ConfigError (78).
 */
export function parseAmqpUrl(url: string): AmqpUrl {
  const o = new UrlOptions(url)
  const u = o.url
  const prefix = o.take('prefix') ?? ''
  if (prefix !== '' && !/^[\w.-]{1,64}$/.test(prefix)) throw o.error('prefix= takes 1 to 64 letters, digits, "_", "." or "-"')
  const connectTimeoutMs = o.duration('connect_timeout', 2000)
  const heartbeatMs = o.duration('heartbeat', 30_000)
  const maxBodyBytes = o.size('max_body', DEFAULT_MAX_BODY, AMQP_MAX_BODY_CAP)
  const unknown = o.rest()
  if (unknown.length > 0) throw o.error(`unknown option ${unknown[0]}= (prefix, max_body, connect_timeout, heartbeat)`)
  const path = u.pathname.replace(/^\//, '')
  if (path.includes('/')) throw o.error('the path names one vhost (URL-encode a "/" in it as %2F)')
  const vhost = path === '' ? '/' : decodeURIComponent(path)
  const tls = u.protocol === 'amqps:'
  const hostname = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1'
  return {
    connect: {
      heartbeat: Math.max(1, Math.round(heartbeatMs / 1000)),
      hostname,
      password: u.password ? decodeURIComponent(u.password) : 'guest',
      port: u.port === '' ? (tls ? 5671 : 5672) : Number(u.port),
      protocol: tls ? 'amqps' : 'amqp',
      username: u.username ? decodeURIComponent(u.username) : 'guest',
      vhost,
    },
    connectTimeoutMs,
    display: `${u.protocol}//${u.host || hostname}/${path}`,
    maxBodyBytes,
    prefix,
  }
}
