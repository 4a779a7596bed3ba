import {afterAll, beforeAll} from 'vitest'

import {REDIS_CAPABILITIES, RedisBackend} from '../../src/backends/redis/index.js'
import {Queue} from '../../src/queue.js'
import {describeWithServer, freshPrefix, redisClusterUnavailable, type RedisCluster, startRedisCluster, withPrefix} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

// The whole behaviour suite against a Redis Cluster of this file's own: three masters on free
// ports, the slots split among them (startRedisCluster), mq connecting through the first as a
// seed (cluster=1). A key prefix per test; each queue's keys live in the slot of its {QUEUE}
// tag, so the queues of one test are spread over the three masters.
describeWithServer('redis cluster', redisClusterUnavailable(), () => {
  let cluster: RedisCluster | undefined
  let base = ''
  beforeAll(async () => {
    cluster = await startRedisCluster()
    base = cluster.url
  }, 60_000)
  afterAll(async () => {
    await cluster?.destroy()
  })
  behaviourSuite({
    capabilities: REDIS_CAPABILITIES,
    async fresh() {
      const url = withPrefix(base, freshPrefix())
      return {open: async () => new Queue(new RedisBackend(url)), url}
    },
    name: 'redis-cluster',
  })
})
