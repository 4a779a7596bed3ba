import {Redis} from 'ioredis'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'

import {RedisBackend} from '../../src/backends/redis/index.js'
import {Queue} from '../../src/queue.js'
import {bodyLimit, boundUnderRacingPushes, consumeLosesServer, faketimeUnavailable, killNineTorture, lostReplies, attemptsStoreOnce, mqAt, pushesSurviveCrash, skewedConsumerKeepsLease} from '../support/chaos.js'
import {FIXTURES, HEAVY_MS} from '../support/helpers.js'
import {describeWithServer, freePort, IN_CI, freshPrefix, redisCommand, redisServerUnavailable, type RedisServer, startRedis, withMuteServer, withPrefix} from '../support/servers.js'

// The command line on Redis, with real processes and a real redis-server of this file's own:
// crashes of clients (kill -9) and of the server, a server that goes away under a consumer,
// an unreachable or mute server, replicas that do not answer, and the durability warning.
const H = (name: string) => join(FIXTURES, 'handlers', `${name}.sh`)

// These start and stop redis-servers of their own (MQ_TEST_REDIS_URL is not for them).
describeWithServer('redis command line', redisServerUnavailable(), () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.destroy()
  })
  const url = () => withPrefix(server.url, freshPrefix())

  it('push, pop, ack and stats work through MQ_URL, with no spool anywhere', async () => {
    const u = url()
    const id = (await mqAt(u, ['push', 'jobs', 'hello'])).out.trim()
    expect(id).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/)
    const pop = await mqAt(u, ['pop', 'jobs', '--json'])
    expect(pop.code).toBe(0)
    const d = JSON.parse(pop.out)
    expect(d).toMatchObject({attempt: 1, body: 'hello', id, queue: 'jobs'})
    expect((await mqAt(u, ['ack', 'jobs', d.receipt])).code).toBe(0)
    const again = await mqAt(u, ['ack', 'jobs', d.receipt])
    expect(again.code).toBe(66)
    expect(again.stderr.trim().split('\n')).toHaveLength(1)
    expect(JSON.parse((await mqAt(u, ['stats', 'jobs', '--json'])).out)).toMatchObject({done: 1, inflight: 0, ready: 0})
  })

  it('stats warns that a server without persistence loses everything on restart: people on stderr, machines in the data', async () => {
    const u = url()
    expect((await mqAt(u, ['push', 'q', 'x'])).code).toBe(0)
    const table = await mqAt(u, ['stats'])
    expect(table.code).toBe(0)
    expect(table.stderr).toMatch(/^mq: warning: redis:\/\/127\.0\.0\.1:\d+\/0: the server keeps nothing on disk/)
    // Machine-readable runs that succeed say nothing on stderr (cron would mail it every minute).
    const json = await mqAt(u, ['stats', '--json'])
    expect(json.code).toBe(0)
    expect(json.stderr).toBe('')
    expect(JSON.parse(json.out)).toEqual([expect.objectContaining({queue: 'q', warnings: [expect.stringMatching(/the server keeps nothing on disk/)]})])
    const dir = mkdtempSync(join(tmpdir(), 'mq-prom-'))
    try {
      const prom = await mqAt(u, ['stats', '--prometheus', '--textfile', join(dir, 'mq.prom')])
      expect(prom.code).toBe(0)
      expect(prom.stderr).toBe('')
      const text = readFileSync(join(dir, 'mq.prom'), 'utf8')
      expect(text).toMatch(/^mq_engine_warnings 1$/m)
      expect(text).toMatch(/^mq_engine_warning\{warning="redis:.*the server keeps nothing on disk.*"\} 1$/m)
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })

  it('acked messages are counted, not kept: peek --state done says "not supported" (78)', async () => {
    const u = url()
    await mqAt(u, ['push', 'q', 'x'])
    const r = await mqAt(u, ['peek', 'q', '--state', 'done'])
    expect(r.code).toBe(78)
    expect(r.stderr).toMatch(/not supported by the redis engine\n$/)
  })

  it('a mistaken URL is one line and 78; an unreachable server is one line and 69, within seconds', async () => {
    const bad = await mqAt('redis://127.0.0.1/x?prefix=a', ['push', 'q', 'x'])
    expect(bad.code).toBe(78)
    const unknown = await mqAt(`${server.url}?speed=fast`, ['push', 'q', 'x'])
    expect(unknown.code).toBe(78)
    expect(unknown.stderr).toMatch(/unknown option speed=/)
    const port = await freePort() // nothing listens there
    for (const args of [['push', 'q', 'x'], ['pop', 'q'], ['pop', 'q', '--wait', '30s'], ['stats'], ['consume', 'q', '--exec', H('succeed')]]) {
      const r = await mqAt(`redis://127.0.0.1:${port}/0`, args, {timeoutMs: 20_000})
      expect(r.timedOut, args.join(' ')).toBe(false)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(69)
      expect(r.stderr).toMatch(new RegExp(`^mq: redis://127\\.0\\.0\\.1:${port}/0: cannot reach the server \\(ECONNREFUSED\\)`))
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('a database the server does not have is refused (78) and nothing is written to another', async () => {
    const prefix = freshPrefix()
    const r = await mqAt(`${server.url.replace(/\/0$/, '/99')}?prefix=${prefix}`, ['push', 'q', 'x'])
    expect(r.code).toBe(78)
    expect(r.stderr).toMatch(/the server has no database 99/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(await redisCommand(server.port, `EXISTS ${prefix}:queues`)).toBe(':0') // not on database 0 either
    // One it has: written there, not to 0.
    expect((await mqAt(`${server.url.replace(/\/0$/, '/3')}?prefix=${prefix}`, ['push', 'q', 'x'])).code).toBe(0)
    expect(await redisCommand(server.port, `EXISTS ${prefix}:queues`)).toBe(':0')
    const three = new Redis({db: 3, host: '127.0.0.1', port: server.port})
    try {
      expect(await three.exists(`${prefix}:queues`)).toBe(1)
    } finally {
      three.disconnect()
    }
  })

  it('a server that accepts connections and never answers fails the command (69), it does not hang', async () => {
    await withMuteServer(async (port) => {
      const r = await mqAt(`redis://127.0.0.1:${port}/0?command_timeout=1s`, ['push', 'q', 'x'], {timeoutMs: 20_000})
      expect(r.timedOut).toBe(false)
      expect(r.code).toBe(69)
      expect(r.stderr).toMatch(/no answer from the server within 1s \(command_timeout\)/)
    })
  })

  it('replicas=1 on a server without replicas: the push fails with 75 and says the message is stored', async () => {
    const u = url()
    const r = await mqAt(`${u}&replicas=1&replicas_timeout=300ms`, ['push', 'q', 'x'])
    expect(r.code).toBe(75)
    expect(r.out).toBe('')
    expect(r.stderr).toMatch(/stored, but 0 of 1 replicas confirmed within 300ms/)
    expect(JSON.parse((await mqAt(u, ['stats', 'q', '--json'])).out)).toMatchObject({ready: 1})
  })

  it('kill -9 of CLI producers and consumers at random: every printed id is acked once; redeliveries only of what was in flight', async () => {
    await killNineTorture(url())
  }, HEAVY_MS)

  it('a server with appendfsync always, killed -9 and restarted between push and pop: every printed id survives', async () => {
    const aof = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always'])
    try {
      const u = withPrefix(aof.url, freshPrefix())
      await pushesSurviveCrash(u, async () => {
        await aof.stop('SIGKILL')
        await aof.start()
      })
      const warn = await mqAt(u, ['stats'])
      expect(warn.stderr).not.toMatch(/warning/)
    } finally {
      await aof.destroy()
    }
  }, HEAVY_MS)

  it('a server that answers and refuses names the cause and its class: a password 77, out of memory 75; never "is the server running?"', async () => {
    const own = await startRedis(['--requirepass', 's3cret'])
    try {
      const at = (auth: string) => withPrefix(`redis://${auth}127.0.0.1:${own.port}/0`, freshPrefix())
      for (const [auth, why] of [[':wrong@', /WRONGPASS/], ['', /NOAUTH/]] as const) {
        const r = await mqAt(at(auth), ['push', 'q', 'x'])
        expect(r.code, r.stderr).toBe(77)
        expect(r.stderr).toMatch(why)
        expect(r.stderr).not.toMatch(/is the server running/)
        expect(r.stderr.trim().split('\n')).toHaveLength(1)
      }
      const ok = at(':s3cret@')
      expect((await mqAt(ok, ['push', 'q', 'kept'])).code).toBe(0)
      const raw = new Redis({host: '127.0.0.1', password: 's3cret', port: own.port})
      await raw.config('SET', 'maxmemory', '1')
      raw.disconnect()
      const full = await mqAt(ok, ['push', 'q', 'more'])
      expect(full.code, full.stderr).toBe(75)
      expect(full.stderr).toMatch(/the server refused: OOM .*try again later/)
      expect(full.stderr.trim().split('\n')).toHaveLength(1)
      // Refused, nothing stored: the queue holds what it held.
      expect(JSON.parse((await mqAt(ok, ['peek', 'q', '--json'])).out).map((m: {body: string}) => m.body)).toEqual(['kept'])
    } finally {
      await own.destroy()
    }
  })

  it('the server stopped under a running consume: it says so in one line and exits 69 (it does not spin)', async () => {
    const own = await startRedis()
    try {
      await consumeLosesServer(withPrefix(own.url, freshPrefix()), () => own.stop('SIGKILL'))
    } finally {
      await own.destroy()
    }
  })

  it.skipIf(Boolean(faketimeUnavailable()) && !IN_CI)('a consumer whose clock runs 10 minutes ahead keeps its lease: nothing is delivered twice', async () => {
    if (faketimeUnavailable()) throw new Error(`CI=true: ${faketimeUnavailable()}`)
    await skewedConsumerKeepsLease(url())
  })

  it('a bound holds exactly under racing producers: of 8 pushes into room for 3, 3 land and 5 get 75', async () => {
    await boundUnderRacingPushes(url())
  })

  it('a push sent again under its attempt name stores nothing more and answers the same ids: a batch of several calls, a topic', async () => {
    await attemptsStoreOnce(new RedisBackend(url()))
  })

  it('a reply lost with the connection: a push is tried again and stored once, or 76 "may be stored"; an ack tried again is 76 "most likely took effect"', async () => {
    await lostReplies(url(), server.port, {exactAck: false, wire: (body) => body})
  })

  it('a server that may evict keys is refused (78) before anything is written, unless the URL accepts it; stats then warns', async () => {
    const own = await startRedis(['--maxmemory-policy', 'allkeys-lru'])
    const raw = new Redis({host: '127.0.0.1', port: own.port})
    try {
      const u = withPrefix(own.url, freshPrefix())
      const r = await mqAt(u, ['push', 'q', 'x'])
      expect(r.code, r.stderr).toBe(78)
      expect(r.stderr).toMatch(/^mq: .*the server may evict keys \(maxmemory-policy allkeys-lru\).*eviction=accept/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(await raw.dbsize()).toBe(0)
      // volatile-lru evicts what carries a TTL: idempotency keys and push records (duplicates on retry).
      await raw.config('SET', 'maxmemory-policy', 'volatile-lru')
      expect((await mqAt(u, ['push', 'q', 'x', '--key', 'k'])).code).toBe(78)
      expect(await raw.dbsize()).toBe(0)
      const ok = `${u}&eviction=accept`
      const pushed = await mqAt(ok, ['push', 'q', 'x'])
      expect(pushed.code, pushed.stderr).toBe(0)
      expect((await mqAt(ok, ['stats'])).stderr).toMatch(/maxmemory-policy volatile-lru: the server may evict messages/)
      // What eviction did, once a claim found it: said per queue.
      const prefix = new URL(u).searchParams.get('prefix')!
      expect(await raw.del(`${prefix}:{q}:m:${pushed.out.trim()}`)).toBe(1)
      expect((await mqAt(ok, ['pop', 'q'])).code).toBe(3)
      const after = await mqAt(ok, ['stats', '--json'])
      expect(JSON.parse(after.out)[0].warnings).toContain(`redis://127.0.0.1:${own.port}/0: queue q: 1 message was evicted by the server and dropped by a claim (lost)`)
      const bad = await mqAt(`${u}&eviction=yes`, ['push', 'q', 'x'])
      expect(bad.code).toBe(78)
      expect(bad.stderr).toMatch(/eviction= takes only "accept"/)
    } finally {
      raw.disconnect()
      await own.destroy()
    }
  })

  it('a body over max_body= is refused with one line (65) before anything is sent, streamed or not; the default is 32MiB', async () => {
    await bodyLimit(url())
  })

  it('a message whose hash the server evicted is never delivered with an empty body, ready or delayed: dropped, counted, and the next one delivered', async () => {
    const u = url()
    const prefix = new URL(u).searchParams.get('prefix')!
    const b = new Queue(new RedisBackend(u))
    const raw = new Redis({host: '127.0.0.1', port: server.port})
    try {
      const [gone, kept] = await b.push('ev', [{body: Buffer.from('evicted')}, {body: Buffer.from('kept')}])
      // What allkeys-lru does under memory pressure: the hash goes, the id stays queued.
      expect(await raw.del(`${prefix}:{ev}:m:${gone.id}`)).toBe(1)
      expect((await b.peek('ev', {limit: 10, state: 'ready'})).map((m) => m.id)).toEqual([kept.id])
      const d = await b.claim('ev')
      expect(d?.id).toBe(kept.id)
      expect(d?.body.toString()).toBe('kept')
      await b.ack('ev', d!.receipt)
      expect(await b.claim('ev')).toBeNull()
      expect(await raw.hget(`${prefix}:{ev}:meta`, 'lost')).toBe('1')
      // A delayed one evicted before it fell due: the sweep that would make it ready drops it too
      // (it used to stop every claim of the queue with a script error).
      const [late] = await b.push('ev', [{body: Buffer.from('late'), notBefore: Date.now() + 300}])
      await b.push('ev', [{body: Buffer.from('after')}])
      expect(await raw.del(`${prefix}:{ev}:m:${late.id}`)).toBe(1)
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect((await b.claim('ev'))?.body.toString()).toBe('after')
      expect(await b.claim('ev')).toBeNull()
      expect(await raw.hget(`${prefix}:{ev}:meta`, 'lost')).toBe('2')
    } finally {
      raw.disconnect()
      await b.close()
    }
  })

  it('a keyed push to a topic cut short after some subscribers converges when retried: the same id everywhere, no second copy', async () => {
    const u = url()
    const prefix = new URL(u).searchParams.get('prefix')!
    const b = new Queue(new RedisBackend(u))
    const raw = new Redis({host: '127.0.0.1', port: server.port})
    try {
      await b.subscribe('news', 'a')
      await b.subscribe('news', 'b')
      const [first] = await b.push('news', [{body: Buffer.from('x'), key: 'k1'}])
      // The state a producer killed after a's copy leaves: b has neither the message, nor its
      // ready entry, nor the fan-out marker.
      await raw.del(`${prefix}:{b}:m:${first.id}`, `${prefix}:{b}:tk:news:k1`)
      await raw.zrem(`${prefix}:{b}:ready`, first.id)
      expect((await b.stats('b'))[0].ready).toBe(0)
      const [again] = await b.push('news', [{body: Buffer.from('x'), key: 'k1'}])
      expect(again).toMatchObject({duplicate: true, id: first.id})
      for (const q of ['a', 'b']) expect((await b.peek(q, {limit: 5, state: 'ready'})).map((m) => m.id)).toEqual([first.id])
    } finally {
      raw.disconnect()
      await b.close()
    }
  })
})
