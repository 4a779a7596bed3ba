import {afterAll, beforeAll} from 'vitest'

import {POSTGRES_CAPABILITIES, PostgresBackend} from '../../src/backends/postgres/index.js'
import {REDIS_CAPABILITIES, RedisBackend} from '../../src/backends/redis/index.js'
import {Queue} from '../../src/queue.js'
import {describeWithServer, dropSchemas, freshPrefix, freshSchema, postgresUnavailable, redisUnavailable, type RedisServer, startRedis, withPostgres, withPrefix, withSchema} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

/**
 * The behaviour suite on one Redis server, through ioredis or through the lean connection the
 * command line's hot verbs use ({lean: true}, src/backends/redis/lean.ts): a redis-server of the
 * calling file's own (or the server MQ_TEST_REDIS_URL names), a key prefix per test. Peers are
 * other processes opening the URL.
 */
export function redisBehaviour({lean}: {lean: boolean}): void {
  describeWithServer(lean ? 'redis, lean connection' : 'redis', redisUnavailable(), () => {
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
        return {open: async () => new Queue(new RedisBackend(url, {lean})), url}
      },
      name: lean ? 'redis-lean' : 'redis',
    })
  })
}

/**
 * The behaviour suite on PostgreSQL, through pg's Client or through the lean connection
 * ({lean: true}, src/backends/postgres/lean.ts): the server MQ_TEST_POSTGRES_URL names, a fresh
 * schema per test (dropped when the file ends), made empty before the test as a deployment's
 * would be (a schema named in a URL that does not exist at all is refused by inspection: that is
 * test/e2e/postgres.test.ts's). Peers are other processes opening the URL.
 */
export function postgresBehaviour({lean}: {lean: boolean}): void {
  describeWithServer(lean ? 'postgres, lean connection' : 'postgres', postgresUnavailable(), () => {
    const base = process.env.MQ_TEST_POSTGRES_URL ?? ''
    const made: string[] = []
    afterAll(async () => {
      if (base) await dropSchemas(base, made)
    })
    behaviourSuite({
      capabilities: POSTGRES_CAPABILITIES,
      async fresh() {
        const schema = freshSchema(made)
        await withPostgres(base, (c) => c.query(`CREATE SCHEMA "${schema}"`))
        const url = withSchema(base, schema)
        return {open: async () => new Queue(new PostgresBackend(url, {lean})), url}
      },
      name: lean ? 'postgres-lean' : 'postgres',
    })
  })
}
