import {spawn} from 'node:child_process'
import {createServer, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {killNineTorture, mqAt} from '../support/chaos.js'
import {BIN, FIXTURES, sleep, userEnv} from '../support/helpers.js'
import {freePort, freshPrefix, IN_CI, redisUnavailable, type RedisServer, startRedis, withPrefix} from '../support/servers.js'

// The command line on Redis, with real processes and a real redis-server of this file's own:
// crashes of clients (kill -9) and of the server, a server that goes away under a consumer,
// an unreachable or mute server, replicas that do not answer, and the durability warning.
const why = process.env.MQ_TEST_REDIS_URL ? 'these tests start and stop their own redis-server' : redisUnavailable()
const H = (name: string) => join(FIXTURES, 'handlers', `${name}.sh`)

describe.skipIf(Boolean(why) && !IN_CI)(why ? `redis command line (skipped: ${why})` : 'redis command line', () => {
  let server: RedisServer
  beforeAll(async () => {
    if (why) throw new Error(`CI=true and the Redis tests cannot run: ${why}`)
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

  it('stats warns, on stderr, that a server without persistence loses everything on restart', async () => {
    const r = await mqAt(url(), ['stats', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual([])
    expect(r.stderr).toMatch(/^mq: warning: redis:\/\/127\.0\.0\.1:\d+\/0: the server keeps nothing on disk/)
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
      const t0 = Date.now()
      const r = await mqAt(`redis://127.0.0.1:${port}/0`, args, {timeoutMs: 20_000})
      expect(r.timedOut, args.join(' ')).toBe(false)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(69)
      expect(r.stderr).toMatch(new RegExp(`^mq: redis://127\\.0\\.0\\.1:${port}/0: cannot reach the server \\(ECONNREFUSED\\)`))
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(Date.now() - t0).toBeLessThan(15_000) // a bound on hanging, not a speed claim
    }
  })

  it('a server that accepts connections and never answers fails the command (69), it does not hang', async () => {
    const sockets: Socket[] = []
    const mute: Server = createServer((s) => sockets.push(s))
    const port = await new Promise<number>((r) => mute.listen(0, '127.0.0.1', () => r((mute.address() as {port: number}).port)))
    try {
      const r = await mqAt(`redis://127.0.0.1:${port}/0?command_timeout=1s`, ['push', 'q', 'x'], {timeoutMs: 20_000})
      expect(r.timedOut).toBe(false)
      expect(r.code).toBe(69)
      expect(r.stderr).toMatch(/no answer from the server within 1s \(command_timeout\)/)
    } finally {
      for (const s of sockets) s.destroy()
      mute.close()
    }
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
  })

  it('a server with appendfsync always, killed -9 and restarted between push and pop: every printed id survives', async () => {
    const aof = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always'])
    try {
      const u = withPrefix(aof.url, freshPrefix())
      const ids: string[] = []
      for (let i = 0; i < 10; i++) ids.push((await mqAt(u, ['push', 'q', `m${i}`])).out.trim())
      const batch = await mqAt(u, ['push', 'q', '--batch'], {input: Array.from({length: 50}, (_, i) => `b${i}`).join('\n')})
      ids.push(...batch.out.trim().split('\n'))
      expect(ids).toHaveLength(60)
      await aof.stop('SIGKILL')
      await aof.start()
      const got: string[] = []
      for (;;) {
        const r = await mqAt(u, ['pop', 'q', '--json'])
        if (r.code === 3) break
        expect(r.code, r.stderr).toBe(0)
        const d = JSON.parse(r.out)
        got.push(d.id)
        await mqAt(u, ['ack', 'q', d.receipt])
      }
      expect(got).toEqual(ids) // all of them, in order
      const warn = await mqAt(u, ['stats'])
      expect(warn.stderr).not.toMatch(/warning/)
    } finally {
      await aof.destroy()
    }
  })

  it('the server stopped under a running consume: it says so in one line and exits 69 (it does not spin)', async () => {
    const own = await startRedis()
    try {
      const u = withPrefix(own.url, freshPrefix())
      await mqAt(u, ['push', 'q', 'first'])
      const child = spawn(process.execPath, [BIN, 'consume', 'q', '--lease', '2s', '--exec', H('sleep')], {env: userEnv({MQ_URL: u, SLEEP: '1'}), stdio: ['ignore', 'pipe', 'pipe']})
      let err = ''
      child.stderr.on('data', (c: Buffer) => (err += c))
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
      // Wait until it holds the message, then take the server away.
      for (let i = 0; i < 200; i++) {
        const s = JSON.parse((await mqAt(u, ['stats', 'q', '--json'])).out)
        if (s.inflight === 1) break
        await sleep(50)
      }
      await own.stop('SIGKILL')
      const t0 = Date.now()
      const code = await Promise.race([exited, sleep(30_000).then(() => 'hung')])
      expect(code, err).toBe(69)
      expect(Date.now() - t0).toBeLessThan(25_000)
      expect(err).toMatch(/cannot reach the server|no answer from the server/)
      expect(err.trim().split('\n').filter((l) => l.startsWith('mq: redis')).length).toBe(1)
    } finally {
      await own.destroy()
    }
  })
})
