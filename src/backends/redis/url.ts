import {isIP} from 'node:net'
import type {RedisOptions} from 'ioredis'

import {DEFAULT_MAX_BODY, MAX_BODY_CAP, UrlOptions} from '../common.js'

export interface RedisUrl {
  options: RedisOptions
  prefix: string
  /** cluster=1: the host is a seed node of a Redis Cluster; the client finds the others. */
  cluster: boolean
  /** eviction=accept: the user accepts a server that may evict keys (maxmemory-policy other than noeviction). */
  acceptEviction: boolean
  /** max_body=: the largest body taken (bytes). */
  maxBodyBytes: number
  replicas: number
  replicasTimeoutMs: number
  /** The URL without its password, for messages. */
  display: string
}

/** Reads a redis:// or rediss:// URL (see above); a mistake is a ConfigError (78). */
export function parseRedisUrl(url: string): RedisUrl {
  const o = new UrlOptions(url)
  const u = o.url
  const prefix = o.take('prefix') ?? 'mq'
  if (!/^[\w.-]{1,64}$/.test(prefix)) throw o.error('prefix= takes 1 to 64 letters, digits, "_", "." or "-"')
  const clusterText = o.take('cluster') ?? '0'
  if (clusterText !== '0' && clusterText !== '1') throw o.error('cluster= takes 1 (a Redis Cluster, the host a seed node) or 0')
  const cluster = clusterText === '1'
  const eviction = o.take('eviction')
  if (eviction !== undefined && eviction !== 'accept') throw o.error('eviction= takes only "accept" (use a server that may evict keys, losing what it evicts)')
  const replicasText = o.take('replicas') ?? '0'
  if (!/^\d{1,3}$/.test(replicasText)) throw o.error('replicas= takes a whole number')
  const replicas = Number(replicasText)
  const replicasTimeoutMs = o.duration('replicas_timeout', 1000)
  const connectTimeout = o.duration('connect_timeout', 2000)
  const commandTimeout = o.duration('command_timeout', 10_000)
  const maxBodyBytes = o.size('max_body', DEFAULT_MAX_BODY, MAX_BODY_CAP)
  const db = u.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw o.error('the path names a database number (redis://host:6379/0)')
  if (cluster && db !== '' && db !== '0') throw o.error('a Redis Cluster has database 0 only')
  // WAIT counts the replicas of the node it is sent to; in a cluster that is the queue's own
  // master, which this client does not pick for it: refused rather than counted on the wrong node.
  if (cluster && replicas > 0) throw o.error('replicas= is not supported with cluster=1 (WAIT would be sent to a node other than the queue\'s)')
  const unknown = o.rest()
  if (unknown.length > 0) throw o.error(`unknown option ${unknown[0]}= (prefix, cluster, eviction, max_body, replicas, replicas_timeout, connect_timeout, command_timeout)`)
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1'
  const port = u.port === '' ? 6379 : Number(u.port)
  const display = `${u.protocol}//${u.host || host}${u.pathname === '/' ? '' : u.pathname}`
  return {
    acceptEviction: eviction === 'accept',
    cluster,
    display,
    maxBodyBytes,
    options: {
      commandTimeout,
      connectTimeout,
      db: db === '' ? 0 : Number(db),
      // Fail instead of queueing commands while reconnecting: no command hangs on a dead server.
      enableReadyCheck: false,
      host,
      lazyConnect: false,
      maxRetriesPerRequest: 0,
      port,
      retryStrategy: () => null,
      ...(u.username ? {username: decodeURIComponent(u.username)} : {}),
      ...(u.password ? {password: decodeURIComponent(u.password)} : {}),
      // SNI names a host, never an address (Node warns on one): an address is checked against the certificate's IP names.
      ...(u.protocol === 'rediss:' ? {tls: isIP(host) ? {} : {servername: host}} : {}),
    },
    prefix,
    replicas,
    replicasTimeoutMs,
  }
}
