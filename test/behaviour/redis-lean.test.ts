import {Queue} from '../../src/queue.js'
import {afterAll, beforeAll} from 'vitest'

import {REDIS_CAPABILITIES, RedisBackend} from '../../src/backends/redis/index.js'
import {describeWithServer, freshPrefix, redisUnavailable, type RedisServer, startRedis, withPrefix} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

// The whole behaviour suite again, over the lean connection (src/backends/redis/lean.ts)
// that the command line's hot verbs (push, pop, ack, nack, consume) use in place of ioredis: every promise holds
// on it as on ioredis (blocking waits, pipelines, scripts, a lost connection made again).
describeWithServer('redis, lean connection', redisUnavailable(), () => {
  let server: RedisServer | undefined
  let base = process.env.MQ_TEST_REDIS_URL ?? ''
  beforeAll(async () => {
    if (!base) {
      server = await startRedis()
      base = server.url
    }
  })
  afterAll(async () => {
    await server?.destroy()
  })
  behaviourSuite({
    capabilities: REDIS_CAPABILITIES,
    async fresh() {
      const url = withPrefix(base, freshPrefix())
      return {open: async () => new Queue(new RedisBackend(url, {lean: true})), url}
    },
    name: 'redis-lean',
  })
})
