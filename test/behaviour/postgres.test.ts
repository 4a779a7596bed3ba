import {afterAll} from 'vitest'

import {POSTGRES_CAPABILITIES, PostgresBackend} from '../../src/backends/postgres/index.js'
import {describeWithServer, dropSchemas, freshSchema, postgresUnavailable, withSchema} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

// The whole behaviour suite against PostgreSQL: the server MQ_TEST_POSTGRES_URL names, a fresh
// schema per test (dropped when the file ends). Peers are other processes opening the URL.
describeWithServer('postgres', postgresUnavailable(), () => {
  const base = process.env.MQ_TEST_POSTGRES_URL ?? ''
  const made: string[] = []
  afterAll(async () => {
    if (base) await dropSchemas(base, made)
  })
  behaviourSuite({
    capabilities: POSTGRES_CAPABILITIES,
    async fresh() {
      const url = withSchema(base, freshSchema(made))
      return {open: async () => new PostgresBackend(url), url}
    },
    name: 'postgres',
  })
})
