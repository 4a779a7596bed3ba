import {afterAll, expect, it} from 'vitest'

import {bodyLimit, boundUnderRacingPushes, consumeLosesServer, faketimeUnavailable, killNineTorture, lostReplies, attemptsStoreOnce, mqAt, pushesSurviveCrash, skewedConsumerKeepsLease} from '../support/chaos.js'
import {SCHEMA_VERSION} from '../../src/backends/postgres/schema.js'
import {HEAVY_MS} from '../support/helpers.js'
import {describeWithServer, dropSchemas, IN_CI, freePort, freshSchema, postgresUnavailable, privatePostgresUnavailable, startPostgres, withMuteServer, withPostgres, withSchema} from '../support/servers.js'

// The command line on PostgreSQL, with real processes: against the server MQ_TEST_POSTGRES_URL
// names (a fresh schema per test, dropped at the end), and a private cluster of this file's own
// for the crash of the server.
describeWithServer('postgres command line', postgresUnavailable() ?? privatePostgresUnavailable(), () => {
  const base = process.env.MQ_TEST_POSTGRES_URL ?? ''
  const made: string[] = []
  afterAll(async () => {
    if (base) await dropSchemas(base, made)
  })
  const url = () => withSchema(base, freshSchema(made))

  it('push, pop, ack, peek and stats work through MQ_URL; acked messages are kept until gc', async () => {
    const u = url()
    const id = (await mqAt(u, ['push', 'jobs', 'hello'])).out.trim()
    const d = JSON.parse((await mqAt(u, ['pop', 'jobs', '--json'])).out)
    expect(d).toMatchObject({attempt: 1, body: 'hello', id})
    expect((await mqAt(u, ['ack', 'jobs', d.receipt])).code).toBe(0)
    const again = await mqAt(u, ['ack', 'jobs', d.receipt])
    expect(again.code).toBe(66)
    expect(again.stderr.trim().split('\n')).toHaveLength(1)
    const done = JSON.parse((await mqAt(u, ['peek', 'jobs', '--state', 'done', '--json'])).out)
    expect(done.map((m: {id: string}) => m.id)).toEqual([id])
    expect(JSON.parse((await mqAt(u, ['gc', 'jobs', '--done-older-than', '0s', '--force', '--json'])).out)).toMatchObject({removed: {done: 1}})
  })

  it('processes creating the schema at once all succeed, and every push lands', async () => {
    // Several rounds: the ones that wait for the installer must find the schema made and install
    // nothing (installing again locked tables that others already pushed to: a deadlock, 69).
    for (let round = 0; round < 4; round++) {
      const u = url()
      const rs = await Promise.all(Array.from({length: 8}, (_, i) => mqAt(u, ['push', 'q', `m${i}`])))
      for (const r of rs) expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse((await mqAt(u, ['stats', 'q', '--json'])).out)).toMatchObject({ready: 8})
    }
  })

  it('a library push of 70,000 messages in one call stores every one, with distinct ids, in order', async () => {
    // One statement: ids minted within one ms wrapped their 16-bit part past 65,536 (a
    // duplicate key, 69). Through the library, as a program would call it.
    const {PostgresBackend} = await import('../../src/backends/postgres/index.js')
    const {Queue} = await import('../../src/queue.js')
    const b = new Queue(new PostgresBackend(url()))
    try {
      const n = 70_000
      const pushed = await b.push('big', Array.from({length: n}, (_, i) => ({body: Buffer.from(String(i))})))
      expect(pushed).toHaveLength(n)
      expect(new Set(pushed.map((p) => p.id)).size).toBe(n)
      expect((await b.stats('big'))[0].ready).toBe(n)
      const first = await b.claim('big')
      expect(first?.body.toString()).toBe('0')
      expect(first?.id).toBe(pushed[0].id)
    } finally {
      await b.close()
    }
  })

  it('a schema of an older version is brought up to date on first use, and a newer one is refused (78)', async () => {
    const u = url()
    const schema = new URL(u).searchParams.get('schema')!
    expect((await mqAt(u, ['push', 'jobs', 'old'])).code).toBe(0)
    await withPostgres(base.split('?')[0], async (c) => {
      // What version 3 had: one settle(op), no ack() and (as up to version 5) no claim_after();
      // its version recorded as 3.
      await c.query(`DROP FUNCTION "${schema}".ack(text, text, text, boolean); DROP FUNCTION "${schema}".claim_after(text, text, text, bigint); UPDATE "${schema}".schema_version SET version = 3`)
      const d = JSON.parse((await mqAt(u, ['pop', 'jobs', '--json'])).out)
      expect(d.body).toBe('old')
      expect((await mqAt(u, ['ack', 'jobs', d.receipt])).code).toBe(0)
      expect((await c.query(`SELECT version FROM "${schema}".schema_version`)).rows).toEqual([{version: SCHEMA_VERSION}])
      // The worker's ack brings the next message (claim_after, made again by the upgrade).
      expect((await mqAt(u, ['push', 'jobs', '--batch'], {input: 'a\nb\nc\n'})).code).toBe(0)
      const worked = await mqAt(u, ['consume', 'jobs', '--drain', '--json', '--exec', '/bin/true'])
      expect(worked.code, worked.stderr).toBe(0)
      expect(worked.out.trim().split('\n').map((l) => JSON.parse(l).result)).toEqual(['ack', 'ack', 'ack'])
      await c.query(`UPDATE "${schema}".schema_version SET version = 99`)
      const newer = await mqAt(u, ['stats', 'jobs'])
      expect(newer.code).toBe(78)
      expect(newer.stderr).toContain(`version 99, newer than this mq (${SCHEMA_VERSION}): upgrade mq`)
    })
  })

  it('a mistaken URL is 78; an unreachable or mute server is one line and 69, within seconds', async () => {
    expect((await mqAt(`${base.split('?')[0]}?schema=Bad-Name`, ['push', 'q', 'x'])).code).toBe(78)
    const port = await freePort()
    const r = await mqAt(`postgres://postgres@127.0.0.1:${port}/test`, ['push', 'q', 'x'], {timeoutMs: 20_000})
    expect(r.code).toBe(69)
    expect(r.stderr).toMatch(new RegExp(`^mq: postgres://postgres@127\\.0\\.0\\.1:${port}/test: cannot reach the server \\(ECONNREFUSED\\)`))
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    await withMuteServer(async (mutePort) => {
      const m = await mqAt(`postgres://postgres@127.0.0.1:${mutePort}/test?connect_timeout=1s&command_timeout=30s`, ['pop', 'q', '--wait', '1m'], {timeoutMs: 20_000})
      expect(m.timedOut).toBe(false)
      expect(m.code).toBe(69)
      expect(m.stderr.trim().split('\n')).toHaveLength(1)
      // The timeout that fired is the one named.
      expect(m.stderr).toMatch(/no connection within 1s \(connect_timeout\)/)
    })
  })

  it('a server that answers and refuses names the cause and its class: an unknown role 77, an unknown database 78; never "is the server running?"', async () => {
    const where = new URL(base)
    for (const [u, code, why] of [
      [`postgres://nosuchrole@${where.host}/test`, 77, /role "nosuchrole" does not exist/],
      [`postgres://postgres@${where.host}/nosuchdb`, 78, /database "nosuchdb" does not exist/],
    ] as const) {
      const r = await mqAt(u, ['push', 'q', 'x'])
      expect(r.code, r.stderr).toBe(code)
      expect(r.stderr).toMatch(why)
      expect(r.stderr).not.toMatch(/is the server running/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('a push sent again under its attempt name stores nothing more and answers the same ids: a batch of several calls, a topic', async () => {
    await attemptsStoreOnce(new (await import('../../src/backends/postgres/index.js')).PostgresBackend(url()))
  })

  it('a reply lost with the connection: a push is tried again and stored once, or 76 "may be stored"; an ack tried again answers as the first (0)', async () => {
    await lostReplies(url(), Number(new URL(base).port || 5432), {exactAck: true, wire: (body) => Buffer.from(body).toString('hex')})
  })

  it('the counts kept by triggers equal a count of the rows after racing producers, consumers, purges and requeues; stats folds them', async () => {
    const u = url()
    const schema = new URL(u).searchParams.get('schema')!
    const {PostgresBackend} = await import('../../src/backends/postgres/index.js')
    const {Queue} = await import('../../src/queue.js')
    const clients = Array.from({length: 4}, () => new Queue(new PostgresBackend(u)))
    try {
      await clients[0].push('c', [{body: Buffer.from('first')}])
      await Promise.all([
        (async () => {
          for (let i = 0; i < 40; i++) await clients[0].push('c', Array.from({length: 5}, (_, j) => ({body: Buffer.from(`p${i}-${j}`), ...(j === 0 ? {notBefore: Date.now() + 60_000} : {})})))
        })(),
        ...[1, 2].map(async (k) => {
          for (let i = 0; i < 60; i++) {
            const d = await clients[k].claim('c')
            if (!d) continue
            if (i % 3 === 0) await clients[k].deadLetter('c', d.receipt)
            else if (i % 3 === 1) await clients[k].release('c', d.receipt)
            else await clients[k].ack('c', d.receipt)
          }
        }),
        (async () => {
          for (let i = 0; i < 5; i++) {
            await clients[3].requeue('c')
            await clients[3].purge('c', ['done'])
          }
        })(),
        // Folds racing the transitions and each other (stats folds at 64 rows; claims now and then).
        (async () => {
          for (let i = 0; i < 30; i++) await Promise.all([clients[0].stats('c'), clients[3].stats('c')])
        })(),
      ])
      await withPostgres(base.split('?')[0], async (c) => {
        const rows = (await c.query(`SELECT state, count(*)::int AS n FROM "${schema}".messages WHERE queue = 'c' GROUP BY state`)).rows as Array<{state: string; n: number}>
        const counted = Object.fromEntries(rows.map((r) => [r.state, r.n]))
        const [s] = await clients[0].stats('c')
        for (const state of ['ready', 'inflight', 'delayed', 'dead', 'done'] as const) expect(s[state], state).toBe(counted[state] ?? 0)
        // The queue's count rows stay few: stats folds them once there are 64.
        expect((await c.query(`SELECT count(*)::int AS n FROM "${schema}".counts WHERE queue = 'c'`)).rows[0].n).toBeLessThan(64)
      })
    } finally {
      await Promise.all(clients.map((b) => b.close()))
    }
  })

  it('consume -j 8 shares one connection without node-postgres\'s warning about overlapping queries (it pipelines them)', async () => {
    const u = url()
    expect((await mqAt(u, ['push', 'many', '--batch'], {input: Array.from({length: 80}, (_, i) => `m${i}`).join('\n')})).code).toBe(0)
    const r = await mqAt(u, ['consume', 'many', '-j', '8', '--drain', '--shell', 'cat >/dev/null'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/Warning/)
    expect(r.stderr).toMatch(/80 processed, 80 acked/)
  })

  it('a body over max_body= is refused with one line (65) before anything is sent, streamed or not; the default is 32MiB', async () => {
    await bodyLimit(url())
  })

  it('a push stuck behind a lock past command_timeout is cancelled by the server: 75, and it is never stored later', async () => {
    const u = url()
    expect((await mqAt(u, ['push', 'q', 'first'])).code).toBe(0)
    const schema = new URL(u).searchParams.get('schema')!
    const {default: pg} = await import('pg')
    const operator = new pg.Client({connectionString: base.split('?')[0]})
    await operator.connect()
    try {
      // An operator's transaction holding the messages table, as in the issue.
      await operator.query(`BEGIN; LOCK TABLE "${schema}".messages IN ACCESS EXCLUSIVE MODE`)
      const r = await mqAt(`${u}&command_timeout=2s`, ['push', 'q', 'stuck'], {timeoutMs: 30_000})
      expect(r.code, r.stderr).toBe(75)
      expect(r.stderr).toMatch(/the server cancelled it; nothing of it was stored/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      await operator.query('COMMIT')
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const bodies = JSON.parse((await mqAt(u, ['peek', 'q', '--json'])).out).map((m: {body: string}) => m.body)
      expect(bodies).toEqual(['first'])
    } finally {
      await operator.query('ROLLBACK').catch(() => {})
      await operator.end()
    }
  })

  it('URLs that do not mean what they say are refused with one line (78): a misspelt option, a bad sslmode, a system schema, a misspelt schema', async () => {
    const plain = base.split('?')[0]
    const misspelt = await mqAt(`${plain.replace('postgres://postgres@', 'postgres://postgres:hunter2@')}?sslmod=require`, ['push', 'q', 'x'])
    expect(misspelt.code).toBe(78)
    expect(misspelt.stderr).toMatch(/unknown option sslmod= /)
    expect(misspelt.stderr).not.toContain('hunter2') // a password is never printed
    expect(misspelt.stderr.trim().split('\n')).toHaveLength(1)
    // PostgreSQL's own schemas, refused before connecting: at a port nobody listens on, still 78, not 69.
    const nobody = await freePort()
    for (const system of ['pg_catalog', 'pg_toast', 'information_schema']) {
      const r = await mqAt(`postgres://postgres@127.0.0.1:${nobody}/test?schema=${system}`, ['push', 'q', 'x'])
      expect(r.code, system).toBe(78)
      expect(r.stderr).toMatch(new RegExp(`schema=${system} is one of PostgreSQL's system schemas`))
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    for (const bad of ['sslmode=bogus', 'sslmode=verify-ca', 'sslrootcert=/nonexistent/ca.pem']) {
      const r = await mqAt(`${plain}?${bad}`, ['stats'])
      expect(r.code, bad).toBe(78)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    // Inspection never creates a schema: a misspelt one is 78, and is still not there after.
    const schema = freshSchema(made)
    for (const args of [['stats'], ['peek', 'q'], ['queues']]) {
      const r = await mqAt(withSchema(base, schema), args)
      expect(r.code, args.join(' ')).toBe(78)
      expect(r.stderr).toMatch(new RegExp(`schema "${schema}" does not exist`))
    }
    expect((await withPostgres(base, (c) => c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]))).rowCount).toBe(0)
    // A push makes it, and then it answers.
    expect((await mqAt(withSchema(base, schema), ['push', 'q', 'x'])).code).toBe(0)
    expect(JSON.parse((await mqAt(withSchema(base, schema), ['stats', '--json'])).out)).toMatchObject([{queue: 'q', ready: 1}])
  })

  it('kill -9 of CLI producers and consumers at random: every printed id is acked once; redeliveries only of what was in flight', async () => {
    const u = url()
    const {confirmed} = await killNineTorture(u)
    // PostgreSQL keeps acked messages: each printed id is there, acked, once.
    const done = JSON.parse((await mqAt(u, ['peek', 't', '--state', 'done', '--count', '1000', '--json'])).out).map((m: {id: string}) => m.id)
    expect(new Set(done).size).toBe(done.length)
    for (const id of confirmed) expect(done).toContain(id)
  }, HEAVY_MS)

  it('the server crashed (immediate shutdown) and restarted between push and pop: every printed id survives; synchronous_commit off is warned about', async () => {
    const own = await startPostgres()
    try {
      const u = withSchema(own.url, 'crash')
      await pushesSurviveCrash(u, () => {
        own.stop('immediate')
        own.start()
      })
      // What weakens that promise is said: synchronous_commit off makes stats warn.
      expect((await mqAt(u, ['stats'])).stderr).not.toMatch(/warning/)
      await withPostgres(own.url, async (c) => {
        await c.query('ALTER SYSTEM SET synchronous_commit = off')
        await c.query('SELECT pg_reload_conf()')
      })
      const warned = await mqAt(u, ['stats'])
      expect(warned.code).toBe(0)
      expect(warned.stderr).toMatch(/^mq: warning: postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres: synchronous_commit is off/)
      // For machines, in the data; nothing on stderr of a run that succeeded.
      const json = await mqAt(u, ['stats', '--json'])
      expect(json.stderr).toBe('')
      expect(JSON.parse(json.out)[0].warnings).toEqual([expect.stringMatching(/synchronous_commit is off/)])
    } finally {
      own.destroy()
    }
  }, HEAVY_MS)

  it("a batch pushed where the id sequence wraps is still claimed in push order", async () => {
    const u = url()
    expect((await mqAt(u, ['push', 'q', 'first'])).code).toBe(0) // creates the schema
    // The 4-hex-digit part of an id counts to 65535 and starts again: put the sequence just before that.
    await withPostgres(base, (c) => c.query(`SELECT setval('"${made.at(-1)}".id_seq', 65530)`))
    const lines = Array.from({length: 12}, (_, i) => `m${i}`)
    expect((await mqAt(u, ['push', 'q', '--batch'], {input: lines.join('\n') + '\n'})).code).toBe(0)
    expect((await mqAt(u, ['push', 'q', 'last'])).code).toBe(0)
    const got: string[] = []
    for (let i = 0; i < lines.length + 2; i++) got.push(JSON.parse((await mqAt(u, ['pop', 'q', '--json'])).out).body)
    expect(got).toEqual(['first', ...lines, 'last'])
  })

  it.skipIf(Boolean(faketimeUnavailable()) && !IN_CI)('a consumer whose clock runs 10 minutes ahead keeps its lease: nothing is delivered twice', async () => {
    if (faketimeUnavailable()) throw new Error(`CI=true: ${faketimeUnavailable()}`)
    await skewedConsumerKeepsLease(url())
  })

  it('a bound holds exactly under racing producers: of 8 pushes into room for 3, 3 land and 5 get 75', async () => {
    await boundUnderRacingPushes(url())
  })

  it('the server shut down under a running consume: it says so in one line and exits 69 (it does not spin)', async () => {
    const own = await startPostgres()
    try {
      await consumeLosesServer(withSchema(own.url, 'gone'), () => own.stop('immediate'))
    } finally {
      own.destroy()
    }
  })
})
