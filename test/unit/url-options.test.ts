import {describe, expect, it} from 'vitest'

import {formatSize, UrlOptions} from '../../src/backends/common.js'
import {parsePostgresUrl} from '../../src/backends/postgres/url.js'
import {parseRedisUrl} from '../../src/backends/redis/url.js'
import {delayStep, parseAmqpUrl} from '../../src/backends/rabbitmq/index.js'
import {ConfigError} from '../../src/errors.js'

describe('server URL options: sizes, max_body=, eviction=', () => {
  const size = (v: string) => new UrlOptions(`redis://h/?s=${encodeURIComponent(v)}`).size('s', 7, 1024 ** 3)

  it('reads sizes with units in powers of 1024, and refuses what is not one (78)', () => {
    expect(size('100')).toBe(100)
    expect(size('512KiB')).toBe(512 * 1024)
    expect(size('64MiB')).toBe(64 * 1024 ** 2)
    expect(size('64m')).toBe(64 * 1024 ** 2)
    expect(size('1GB')).toBe(1024 ** 3)
    expect(new UrlOptions('redis://h/').size('s', 7, 100)).toBe(7)
    for (const bad of ['0', '-1', '1.5MiB', 'lots', '2GiB', '64 TiB', '']) expect(() => size(bad), bad).toThrow(ConfigError)
  })

  it('says sizes in the largest unit that divides them', () => {
    expect(formatSize(32 * 1024 ** 2)).toBe('32MiB')
    expect(formatSize(1536)).toBe('1536 bytes')
    expect(formatSize(1024)).toBe('1KiB')
  })

  it('both server engines take max_body= (default 32MiB, at most 512MiB); Redis takes eviction=accept and nothing else', () => {
    expect(parseRedisUrl('redis://127.0.0.1/0').maxBodyBytes).toBe(32 * 1024 ** 2)
    expect(parsePostgresUrl('postgres://u@h/db').maxBodyBytes).toBe(32 * 1024 ** 2)
    expect(parsePostgresUrl('postgres://u@h/db?max_body=1MiB').maxBodyBytes).toBe(1024 ** 2)
    expect(() => parseRedisUrl('redis://127.0.0.1/0?max_body=1GiB')).toThrow(/max_body= takes a size from 1 byte to 512MiB/)
    expect(parseRedisUrl('redis://127.0.0.1/0').acceptEviction).toBe(false)
    expect(parseRedisUrl('redis://127.0.0.1/0?eviction=accept').acceptEviction).toBe(true)
    expect(() => parseRedisUrl('redis://127.0.0.1/0?eviction=yes')).toThrow(/eviction= takes only "accept"/)
  })

  it('PostgreSQL takes relay= (how long the push relay stays: default 10s; off or 0: none), and nothing that is not a duration', () => {
    expect(parsePostgresUrl('postgres://u@h/db').relayIdleMs).toBe(10_000)
    expect(parsePostgresUrl('postgres://u@h/db?relay=2m').relayIdleMs).toBe(120_000)
    expect(parsePostgresUrl('postgres://u@h/db?relay=off').relayIdleMs).toBe(0)
    expect(parsePostgresUrl('postgres://u@h/db?relay=0').relayIdleMs).toBe(0)
    expect(() => parsePostgresUrl('postgres://u@h/db?relay=soon')).toThrow(/relay=/)
    // Taken, not passed on to node-postgres as one of its own.
    expect(parsePostgresUrl('postgres://u@h/db?relay=off').connectionString).not.toContain('relay')
  })

  it('cluster=1 names a seed node: database 0 only, and no replicas= (WAIT would count another node\'s)', () => {
    expect(parseRedisUrl('redis://127.0.0.1:7000/0?cluster=1').cluster).toBe(true)
    expect(parseRedisUrl('redis://127.0.0.1:7000').cluster).toBe(false)
    expect(() => parseRedisUrl('redis://127.0.0.1:7000/2?cluster=1')).toThrow(/database 0 only/)
    expect(() => parseRedisUrl('redis://127.0.0.1:7000/0?cluster=1&replicas=1')).toThrow(/replicas= is not supported with cluster=1/)
    expect(() => parseRedisUrl('redis://127.0.0.1:7000/0?cluster=yes')).toThrow(/cluster= takes 1/)
  })
})

describe('amqp:// URLs (the RabbitMQ engine)', () => {
  it('reads the vhost from the path (URL-encoded; "/" when empty), the user and password, and the port', () => {
    expect(parseAmqpUrl('amqp://u:p%40ss@h:5673/my%2Fvhost').connect).toMatchObject({hostname: 'h', password: 'p@ss', port: 5673, protocol: 'amqp', username: 'u', vhost: 'my/vhost'})
    expect(parseAmqpUrl('amqp://h').connect).toMatchObject({password: 'guest', port: 5672, username: 'guest', vhost: '/'})
    expect(parseAmqpUrl('amqps://h/v').connect).toMatchObject({port: 5671, protocol: 'amqps', vhost: 'v'})
    expect(parseAmqpUrl('amqp://u:secret@h/v').display).not.toContain('secret')
  })

  it('takes prefix=, max_body= (at most 128MiB, the broker\'s default limit), connect_timeout=, heartbeat=, and refuses anything else (78)', () => {
    const u = parseAmqpUrl('amqp://h/v?prefix=a.b&max_body=1MiB&connect_timeout=500ms&heartbeat=10s')
    expect(u).toMatchObject({connectTimeoutMs: 500, maxBodyBytes: 1024 ** 2, prefix: 'a.b'})
    expect(u.connect.heartbeat).toBe(10)
    expect(parseAmqpUrl('amqp://h/v').maxBodyBytes).toBe(32 * 1024 ** 2)
    expect(() => parseAmqpUrl('amqp://h/v?max_body=200MiB')).toThrow(/max_body= takes a size from 1 byte to 128MiB/)
    expect(() => parseAmqpUrl('amqp://h/v?frameMax=1')).toThrow(ConfigError)
    expect(() => parseAmqpUrl('amqp://h/v?prefix=a/b')).toThrow(/prefix= takes/)
    expect(() => parseAmqpUrl('amqp://h/a/b')).toThrow(/one vhost/)
  })

  it('rounds delays up to a step, so that a delay queue serves many delays (never early)', () => {
    expect(delayStep(1)).toBe(100)
    expect(delayStep(1234)).toBe(1300)
    expect(delayStep(59_500)).toBe(60_000)
    expect(delayStep(601_000)).toBe(660_000)
    for (const ms of [1, 99, 100, 101, 9999, 10_001, 3_600_001]) expect(delayStep(ms)).toBeGreaterThanOrEqual(ms)
  })
})
