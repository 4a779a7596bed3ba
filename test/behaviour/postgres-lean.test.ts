import {Queue} from '../../src/queue.js'
import {afterAll} from 'vitest'

import {POSTGRES_CAPABILITIES, PostgresBackend} from '../../src/backends/postgres/index.js'
import {describeWithServer, dropSchemas, freshSchema, postgresUnavailable, withSchema} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

// The whole behaviour suite again, over the lean connection (src/backends/postgres/lean.ts)
// that the command line's hot verbs (push, pop, ack, nack, consume) use in place of pg's Client. As
// ./postgres.test.ts: the server MQ_TEST_POSTGRES_URL names, a fresh
// schema per test (dropped when the file ends), made empty before the test as a deployment's
// would be (a schema named in a URL that does not exist at all is refused by inspection: that is
// test/e2e/postgres.test.ts's). Peers are other processes opening the URL.
describeWithServer('postgres, lean connection', postgresUnavailable(), () => {
  const base = process.env.MQ_TEST_POSTGRES_URL ?? ''
  const made: string[] = []
  afterAll(async () => {
    if (base) await dropSchemas(base, made)
  })
  behaviourSuite({
    capabilities: POSTGRES_CAPABILITIES,
    async fresh() {
      const schema = freshSchema(made)
      const pg = (await import('pg')).default
      const c = new pg.Client({connectionString: base})
      await c.connect()
      try {
        await c.query(`CREATE SCHEMA "${schema}"`)
      } finally {
        await c.end()
      }
      const url = withSchema(base, schema)
      return {open: async () => new Queue(new PostgresBackend(url, {lean: true})), url}
    },
    name: 'postgres-lean',
  })
})
