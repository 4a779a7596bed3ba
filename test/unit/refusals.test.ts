import {describe, expect, it} from 'vitest'

import {refusalStatus as pgStatus} from '../../src/backends/postgres/connection.js'
import {refusalStatus as redisStatus} from '../../src/backends/redis/connection.js'

// A server that answers and refuses: the class of its answer decides the exit status (the
// e2e files provoke the common ones against real servers; this is the whole table).
describe('refusals of a queue server, by class', () => {
  it.each([
    ['WRONGPASS invalid username-password pair or user is disabled.', 77],
    ['NOAUTH Authentication required.', 77],
    ["NOPERM this user has no permissions to run the 'eval' command", 77],
    ["READONLY You can't write against a read only replica.", 78],
    ["OOM command not allowed when used memory > 'maxmemory'.", 75],
    ['LOADING Redis is loading the dataset in memory', 75],
    ['BUSY Redis is busy running a script.', 75],
    ['ERR max number of clients reached', 75],
    ['ERR unknown command', 69],
  ])('Redis %j is %i', (text, status) => {
    expect(redisStatus(text)).toBe(status)
  })

  it.each([
    ['28P01', 77], // password authentication failed
    ['28000', 77], // role does not exist, pg_hba rejects
    ['42501', 77], // insufficient privilege
    ['3D000', 78], // database does not exist
    ['25006', 78], // read-only transaction (a standby)
    ['53300', 75], // too many connections
    ['57P03', 75], // the database system is starting up
    ['40P01', 75], // deadlock
    ['57014', 75], // statement cancelled or timed out
    ['XX000', 69],
    [undefined, 69],
  ])('PostgreSQL %s is %i', (code, status) => {
    expect(pgStatus(code)).toBe(status)
  })
})
