import {expect, it} from 'vitest'

import {mqAt} from '../support/chaos.js'
import {HEAVY_MS} from '../support/helpers.js'
import {describeWithServer, privateRabbitUnavailable, startPrivateRabbit} from '../support/servers.js'

// Durability across the broker's own restarts, on a RabbitMQ node of this test's own (its own
// ports and data directory: the machine's broker and the other tests are not touched).
describeWithServer('rabbitmq broker restarts', privateRabbitUnavailable(), () => {
  it(
    'every confirmed push survives a restart of the broker, then a kill -9 of it, in order',
    async () => {
      const broker = await startPrivateRabbit()
      try {
        const u = broker.url
        const ids: string[] = []
        for (let i = 0; i < 5; i++) ids.push((await mqAt(u, ['push', 'q', `m${i}`])).out.trim())
        const batch = await mqAt(u, ['push', 'q', '--batch'], {input: Array.from({length: 50}, (_, i) => `b${i}`).join('\n')})
        expect(batch.code, batch.stderr).toBe(0)
        ids.push(...batch.out.trim().split('\n'))
        await broker.restart('graceful')
        // The queue is established now (the broker has written where its log is): a crash keeps it.
        const more = await mqAt(u, ['push', 'q', '--batch'], {input: Array.from({length: 20}, (_, i) => `c${i}`).join('\n')})
        expect(more.code, more.stderr).toBe(0)
        ids.push(...more.out.trim().split('\n'))
        await broker.restart('kill')
        const r = await mqAt(u, ['consume', 'q', '--idle-exit', '3s', '--json', '--exec', 'true'], {timeoutMs: 120_000})
        expect(r.code, r.stderr).toBe(0)
        const got = r.out.trim().split('\n').map((l) => JSON.parse(l).id)
        expect(got).toEqual(ids)
      } finally {
        await broker.destroy()
      }
    },
    HEAVY_MS,
  )
})
