import {Redis} from 'ioredis'
import {afterAll, beforeAll, expect, it} from 'vitest'

import {mqAt} from '../support/chaos.js'
import {describeWithServer, freshPrefix, redisClusterUnavailable, type RedisCluster, startRedisCluster, withPrefix} from '../support/servers.js'

// The command line on a Redis Cluster of this file's own (three masters): queues on different
// masters, a topic fanning out across them, and a fan-out cut short that a keyed retry completes.
describeWithServer('redis cluster command line', redisClusterUnavailable(), () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster()
  }, 60_000)
  afterAll(async () => {
    await cluster?.destroy()
  })

  /** Which master holds a key (its slot's). */
  async function nodeOf(key: string): Promise<number> {
    const raw = new Redis.Cluster([{host: '127.0.0.1', port: cluster.nodes[0].port}])
    try {
      const slot = (await raw.cluster('KEYSLOT', key)) as number
      const slots = (await raw.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>
      return slots.find(([from, to]) => slot >= from && slot <= to)![2][1]
    } finally {
      raw.disconnect()
    }
  }

  it('push, pop, ack, consume and stats through a seed node, the queues spread over the masters', async () => {
    const u = withPrefix(cluster.url, freshPrefix())
    const prefix = new URL(u).searchParams.get('prefix')!
    const queues = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']
    for (const q of queues) expect((await mqAt(u, ['push', q, `to ${q}`])).code).toBe(0)
    const masters = new Set(await Promise.all(queues.map((q) => nodeOf(`${prefix}:{${q}}:ready`))))
    expect(masters.size).toBeGreaterThan(1)
    const pop = await mqAt(u, ['pop', 'alpha', '--json'])
    expect(pop.code, pop.stderr).toBe(0)
    expect(JSON.parse(pop.out).body).toBe('to alpha')
    expect((await mqAt(u, ['ack', 'alpha', JSON.parse(pop.out).receipt])).code).toBe(0)
    const drained = await mqAt(u, ['consume', 'beta', '--drain', '--shell', 'cat >/dev/null'])
    expect(drained.code, drained.stderr).toBe(0)
    const stats = JSON.parse((await mqAt(u, ['stats', '--json'])).out) as Array<{queue: string; ready: number; done: number}>
    expect(stats.map((s) => s.queue)).toEqual([...queues].sort())
    expect(stats.find((s) => s.queue === 'alpha')).toMatchObject({done: 1, ready: 0})
    expect(stats.find((s) => s.queue === 'gamma')).toMatchObject({ready: 1})
  })

  it('a topic fans out to subscribers on other masters; a keyed push cut short after one copy converges when retried', async () => {
    const u = withPrefix(cluster.url, freshPrefix())
    const prefix = new URL(u).searchParams.get('prefix')!
    const subs = ['s1', 's2', 's3', 's4', 's5']
    for (const s of subs) expect((await mqAt(u, ['subscribe', 'news', s])).code).toBe(0)
    expect(new Set(await Promise.all(subs.map((s) => nodeOf(`${prefix}:{${s}}:ready`)))).size).toBeGreaterThan(1)
    const id = (await mqAt(u, ['push', 'news', 'extra'])).out.trim()
    for (const s of subs) expect(JSON.parse((await mqAt(u, ['peek', s, '--json'])).out).map((m: {id: string}) => m.id)).toEqual([id])
    // A keyed push, then the state a producer killed after s1's copy leaves: the others have
    // neither the message, nor its ready entry, nor the fan-out marker (each on its own master).
    const first = (await mqAt(u, ['push', 'news', 'keyed', '--key', 'k1'])).out.trim()
    const raw = new Redis.Cluster([{host: '127.0.0.1', port: cluster.nodes[0].port}])
    try {
      for (const s of subs.slice(1)) {
        await raw.del(`${prefix}:{${s}}:m:${first}`)
        await raw.del(`${prefix}:{${s}}:tk:news:k1`)
        await raw.zrem(`${prefix}:{${s}}:ready`, first)
      }
    } finally {
      raw.disconnect()
    }
    const retried = await mqAt(u, ['push', 'news', 'keyed', '--key', 'k1'])
    expect(retried.code, retried.stderr).toBe(4) // the key holds: the first push's id
    expect(retried.out.trim()).toBe(first)
    for (const s of subs) {
      const ids = JSON.parse((await mqAt(u, ['peek', s, '--all', '--json'])).out).map((m: {id: string}) => m.id)
      expect(ids).toEqual([id, first])
    }
  })
})
