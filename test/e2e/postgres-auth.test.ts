import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'

import {mq, tempSpool} from '../support/helpers.js'
import {describeWithServer, type PostgresServer, privatePostgresUnavailable, startPostgres} from '../support/servers.js'

// Passwords, on both of the PostgreSQL engine's connections: the lean one the hot verbs use
// (push, pop: src/backends/postgres/lean.ts) and pg's Client the other commands use (stats).
// A private cluster of this file's own: the machine's server trusts every connection, so it
// never asks for a password at all. Over TCP, md5user signs in with MD5 and scramuser with
// SCRAM-SHA-256 (test/support/servers.ts, startPostgres({passwords: true})).
describeWithServer('postgres passwords', privatePostgresUnavailable(), () => {
  let own: PostgresServer
  const dirs: string[] = []
  beforeAll(async () => {
    own = await startPostgres({passwords: true})
  }, 120_000)
  afterAll(() => {
    own?.destroy()
    for (const d of dirs) rmSync(d, {force: true, recursive: true})
  })
  const as = (userinfo: string) => own.url.replace('postgres://postgres@', `postgres://${userinfo}@`)
  const at = (url: string, args: string[], env: NodeJS.ProcessEnv = {}) => mq(tempSpool(), args, {env: {MQ_URL: url, PGPASSFILE: '/nonexistent', ...env}})

  it('SCRAM-SHA-256 and MD5 passwords sign in on the lean connection (push, pop) and on the Client (stats)', async () => {
    for (const [user, password, q] of [['scramuser', 'scram pw', 'sq'], ['md5user', 'md5pw', 'mq5']]) {
      const url = `${as(`${user}:${encodeURIComponent(password)}`)}?schema=${user}`
      const pushed = await at(url, ['push', q, `hello ${user}`])
      expect(pushed.code, pushed.stderr).toBe(0)
      const stats = await at(url, ['stats', q, '--json'])
      expect(stats.code, stats.stderr).toBe(0)
      expect(JSON.parse(stats.out)).toMatchObject({queue: q, ready: 1})
      const popped = await at(url, ['pop', q, '--json'])
      expect(popped.code, popped.stderr).toBe(0)
      expect(JSON.parse(popped.out)).toMatchObject({body: `hello ${user}`, id: pushed.out.trim()})
    }
  })

  it('a wrong password, or none, is 77 in one line on both connections; the password is never printed', async () => {
    for (const url of [as('scramuser:wrong'), as('md5user:wrong'), as('scramuser'), as('md5user')]) {
      for (const args of [['push', 'q', 'x'], ['stats', 'q']]) {
        const r = await at(url, args)
        expect(r.code, `${url} ${args[0]}: ${r.stderr}`).toBe(77)
        expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1)
        expect(r.stderr).toMatch(/password/)
        expect(r.stderr).not.toContain('wrong')
      }
    }
  })

  it("a password from the password file (PGPASSFILE) when the URL has none, as libpq and pg's Client find it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-pgpass-'))
    dirs.push(dir)
    const file = join(dir, 'pgpass')
    writeFileSync(file, `127.0.0.1:*:postgres:scramuser:scram pw\n`)
    chmodSync(file, 0o600)
    const url = as('scramuser')
    const pushed = await at(url, ['push', 'pp', 'from pgpass'], {PGPASSFILE: file})
    expect(pushed.code, pushed.stderr).toBe(0)
    const stats = await at(url, ['stats', 'pp', '--json'], {PGPASSFILE: file})
    expect(JSON.parse(stats.out)).toMatchObject({queue: 'pp', ready: 1})
  })
})
