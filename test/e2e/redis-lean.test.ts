import {afterAll, beforeAll, expect, it} from 'vitest'

import {LeanRedis} from '../../src/backends/redis/lean.js'
import {describeWithServer, redisServerUnavailable, type RedisServer, startRedis, withMuteServer} from '../support/servers.js'

// The lean connection's own promises (src/backends/redis/lean.ts), beyond the behaviour suite
// that runs over it (test/behaviour/redis-lean.test.ts): what it must do as ioredis does for the
// engine's code to read its answers and failures alike. A redis-server of this file's own,
// with a password.
type Client = LeanRedis & Record<string, (...args: unknown[]) => Promise<unknown>>
const lean = (o: ConstructorParameters<typeof LeanRedis>[0]) => new LeanRedis({commandTimeout: 5000, connectTimeout: 2000, ...o}) as Client

describeWithServer('redis lean connection', redisServerUnavailable(), () => {
  let server: RedisServer
  const open: LeanRedis[] = []
  const client = (o: ConstructorParameters<typeof LeanRedis>[0] = {}) => {
    const c = lean({password: 's3cret', port: server.port, ...o})
    open.push(c)
    return c
  }
  beforeAll(async () => {
    server = await startRedis(['--requirepass', 's3cret'])
  })
  afterAll(async () => {
    for (const c of open) c.disconnect()
    await server?.destroy()
  })

  it("the URL's database is every connection's, its duplicate's too (a blocking wait's wake-up list is there)", async () => {
    const c = client({db: 3})
    await c.set('k', 'in 3')
    const dup = c.duplicate({commandTimeout: 1000}) as Client
    open.push(dup)
    expect(await dup.get('k')).toBe('in 3')
    expect(await client().get('k')).toBeNull() // database 0
  })

  it('replies as ioredis gives them: text, numbers and nil, nested; raw Buffers from the Buffer methods', async () => {
    const c = client()
    await c.rpush('l', 'a', Buffer.from([0xff, 0]))
    expect(await c.lrange('l', 0, -1)).toEqual(['a', Buffer.from([0xff, 0]).toString()])
    expect(await c.lrangeBuffer('l', 0, -1)).toEqual([Buffer.from('a'), Buffer.from([0xff, 0])])
    expect(await c.llen('l')).toBe(2)
    expect(await c.get('none')).toBeNull()
    expect(await c.mqLook('mq:{q}:')).toEqual(expect.any(Array)) // a transition script, by its name
    const p = c.pipeline() as Record<string, (...a: unknown[]) => unknown>
    p.incr('n')
    p.hget('l', 'f') // a command the server refuses (WRONGTYPE): its error is its own entry
    p.incr('n')
    const [one, refused, two] = (await p.exec()) as Array<[Error | null, unknown]>
    expect([one, two]).toEqual([[null, 1], [null, 2]])
    expect(refused[0]).toMatchObject({message: expect.stringMatching(/^WRONGTYPE/), name: 'ReplyError'})
  })

  it('a script goes by its SHA-1 once the server has it, and by its text again after SCRIPT FLUSH (NOSCRIPT: nothing ran)', async () => {
    const c = client()
    const before = Number(/cmdstat_evalsha:calls=(\d+)/.exec(String(await c.info('commandstats')))?.[1] ?? 0)
    await c.mqRoom('mq:{s}:') // EVAL, with SCRIPT LOAD behind it
    await c.mqRoom('mq:{s}:') // EVALSHA
    const after = Number(/cmdstat_evalsha:calls=(\d+)/.exec(String(await c.info('commandstats')))?.[1] ?? 0)
    expect(after - before).toBe(1)
    await client().script('FLUSH')
    expect(await c.mqRoom('mq:{s}:')).toEqual([0, -1]) // NOSCRIPT, then EVAL
    expect(await c.mqRoom('mq:{s}:')).toEqual([0, -1])
  })

  it('a transaction refused as a whole (EXECABORT) names the command that caused it, as ioredis does', async () => {
    const m = client().multi() as Record<string, (...a: unknown[]) => unknown>
    m.set('only-a-key')
    const error = await (m.exec as () => Promise<unknown>)().catch((e: unknown) => e)
    expect(error).toMatchObject({message: expect.stringMatching(/^EXECABORT/), name: 'ReplyError'})
    expect((error as {previousErrors: Error[]}).previousErrors[0].message).toMatch(/wrong number of arguments/)
  })

  it('a refused password ends the connection with the refusal (WRONGPASS), failing what was sent after it', async () => {
    const c = client({password: 'wrong'})
    await expect(c.ping()).rejects.toMatchObject({message: expect.stringMatching(/^WRONGPASS/), name: 'ReplyError'})
    expect(c.status).toBe('end')
    await expect(client({password: undefined}).ping()).rejects.toMatchObject({message: expect.stringMatching(/^NOAUTH/)})
  })

  it('a command the server never answers fails with "Command timed out" and ends the connection (no late reply taken for the next)', async () => {
    await withMuteServer(async (port) => {
      const c = lean({commandTimeout: 200, port})
      const errors: Error[] = []
      c.on('error', (e) => errors.push(e))
      await expect(c.ping()).rejects.toThrow('Command timed out')
      expect(c.status).toBe('end')
      await expect(c.ping()).rejects.toThrow('Connection is closed.')
      expect(errors.map((e) => e.message)).toEqual(['Command timed out'])
    })
  })

  it('a server that is not there: the socket error is emitted with its code, and every command fails', async () => {
    const c = lean({port: 9}) // discard: nothing listens on loopback here
    const errors: Array<Error & {code?: string}> = []
    c.on('error', (e) => errors.push(e))
    await expect(c.ping()).rejects.toMatchObject({code: 'ECONNREFUSED'})
    expect(errors[0]?.code).toBe('ECONNREFUSED')
    expect(c.status).toBe('end')
  })
})
