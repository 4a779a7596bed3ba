import {afterAll, beforeAll, describe} from 'vitest'

import {POSTGRES_CAPABILITIES, PostgresBackend} from '../../src/backends/postgres/index.js'
import {dropSchemas, freshSchema, IN_CI, postgresUnavailable, withSchema} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

// The whole behaviour suite against PostgreSQL: the server MQ_TEST_POSTGRES_URL names, a fresh
// schema per test (dropped when the file ends). Peers are other processes opening the URL.
// Without a server the tests are skipped, saying why on one line; under CI=true they fail.
const why = postgresUnavailable()
if (why && !IN_CI) process.stderr.write(`postgres: skipped: ${why}\n`)

describe.skipIf(Boolean(why) && !IN_CI)(why ? `postgres (skipped: ${why})` : 'postgres', () => {
  const base = process.env.MQ_TEST_POSTGRES_URL ?? ''
  const made: string[] = []
  beforeAll(() => {
    if (why) throw new Error(`CI=true and the PostgreSQL tests cannot run: ${why}`)
  })
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
