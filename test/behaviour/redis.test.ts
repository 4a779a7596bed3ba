import {Queue} from '../../src/queue.js'
import {afterAll, beforeAll} from 'vitest'

import {REDIS_CAPABILITIES, RedisBackend} from '../../src/backends/redis/index.js'
import {describeWithServer, freshPrefix, redisUnavailable, type RedisServer, startRedis, withPrefix} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

// The whole behaviour suite against Redis: a redis-server of this file's own (or the server
// MQ_TEST_REDIS_URL names), a key prefix per test. Peers are other processes opening the URL.
describeWithServer('redis', redisUnavailable(), () => {
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
      return {open: async () => new Queue(new RedisBackend(url)), url}
    },
    name: 'redis',
  })
})
