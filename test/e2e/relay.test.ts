import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, expect, it} from 'vitest'

import {PostgresBackend} from '../../src/backends/postgres/index.js'
import {BIN, eventually, run, type RunResult} from '../support/helpers.js'
import {describeWithServer, dropSchemas, freshSchema, postgresUnavailable, withPostgres, withSchema} from '../support/servers.js'

// The push relay (src/relay/): `mq push` on PostgreSQL hands its push to a process of mq's own
// that keeps a connection, and pushes itself whenever that does not answer with a commit. With
// real processes against the server MQ_TEST_POSTGRES_URL names (a fresh schema per test), each
// test's relays in a runtime directory of the test's own ($XDG_RUNTIME_DIR), killed after it.
describeWithServer('the push relay', postgresUnavailable(), () => {
  const base = process.env.MQ_TEST_POSTGRES_URL ?? ''
  const made: string[] = []
  const dirs: string[] = []
  const fakes: Server[] = []
  afterEach(() => {
    for (const s of fakes.splice(0)) s.close()
    for (const d of dirs) for (const pid of relaysOf(d)) kill(pid)
  })
  afterAll(async () => {
    for (const d of dirs.splice(0)) rmSync(d, {force: true, recursive: true})
    if (base) await dropSchemas(base, made)
  })

  /** A runtime directory for one test's relays. */
  const runtime = () => {
    const d = mkdtempSync(join(tmpdir(), 'mq-relay-test-'))
    dirs.push(d)
    return d
  }
  /** `mq ARGS` with the relay on (vitest's environment turns it off for every other test). */
  const mqR = (u: string, dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    run(process.execPath, [BIN, ...args], {env: {MQ_RELAY: 'on', MQ_SPOOL: '/nonexistent/mq-spool-unused', MQ_URL: u, XDG_RUNTIME_DIR: dir, ...env}, timeoutMs: 30_000})
  const sockets = (dir: string) => (existsSync(join(dir, 'mq')) ? readdirSync(join(dir, 'mq')).filter((f) => f.endsWith('.sock')) : [])
  /** The node part of a message id: a relay's pushes share its own. */
  const node = (id: string) => id.split('-')[1]
  /** Pushes until a relay answers (the first push starts it, and is the command's own). */
  const warm = async (u: string, dir: string, queue: string) => {
    const first = await mqR(u, dir, ['push', queue, 'warm'])
    expect(first.code, first.stderr).toBe(0)
    await eventually(() => sockets(dir).length, (n) => n === 1)
    const second = await mqR(u, dir, ['push', queue, 'warm'])
    expect(second.code, second.stderr).toBe(0)
    return node(second.out.trim())
  }

  it('a push starts a relay, later pushes go through it, every message lands once in order, and the relay leaves when idle', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made)) + '&relay=1500ms'
    const first = await mqR(u, dir, ['push', 'q', 'm0'])
    expect(first.code, first.stderr).toBe(0)
    await eventually(() => sockets(dir).length, (n) => n === 1)
    expect(relaysOf(dir)).toHaveLength(1)
    const ids = [first.out.trim()]
    for (let i = 1; i < 5; i++) {
      const r = await mqR(u, dir, ['push', 'q', `m${i}`])
      expect(r.code, r.stderr).toBe(0)
      ids.push(r.out.trim())
    }
    // The first push was the command's own; the others the relay's, on its one connection.
    expect(new Set(ids.slice(1).map(node)).size).toBe(1)
    expect(node(ids[1])).not.toBe(node(ids[0]))
    for (let i = 0; i < 5; i++) {
      const d = JSON.parse((await mqR(u, dir, ['pop', 'q', '--json'])).out)
      expect(d).toMatchObject({body: `m${i}`, id: ids[i]})
    }
    expect((await mqR(u, dir, ['pop', 'q'])).code).toBe(3)
    // Idle for relay=1500ms: it exits, and takes its socket with it.
    expect(await eventually(() => relaysOf(dir).length + sockets(dir).length, (n) => n === 0)).toBe(0)
  })

  it('concurrent pushes through one relay each land once, with their own ids', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made))
    const relayNode = await warm(u, dir, 'c')
    const rs = await Promise.all(Array.from({length: 12}, (_, i) => mqR(u, dir, ['push', 'c', `p${i}`])))
    for (const r of rs) expect(r.code, r.stderr).toBe(0)
    const ids = rs.map((r) => r.out.trim())
    expect(new Set(ids).size).toBe(12)
    expect(ids.filter((id) => node(id) === relayNode).length).toBeGreaterThan(0)
    expect(relaysOf(dir)).toHaveLength(1)
    const peek = JSON.parse((await mqR(u, dir, ['peek', 'c', '--all', '--json'])).out) as Array<{body: string; id: string}>
    expect(peek.filter((m) => m.body.startsWith('p')).map((m) => m.id).sort()).toEqual([...ids].sort())
  })

  it('commands that find no relay at once start one between them, and every push lands', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made))
    const rs = await Promise.all(Array.from({length: 8}, (_, i) => mqR(u, dir, ['push', 's', `s${i}`])))
    for (const r of rs) expect(r.code, r.stderr).toBe(0)
    // One relay stays (one start, or others that found it listening and left), its marker gone.
    await eventually(() => sockets(dir).length, (n) => n === 1)
    expect(await eventually(() => relaysOf(dir).length, (n) => n === 1, {ms: 5000})).toBe(1)
    expect(await eventually(() => readdirSync(join(dir, 'mq')).filter((f) => f.endsWith('.starting')), (m) => m.length === 0)).toEqual([])
    const next = await mqR(u, dir, ['push', 's', 'next'])
    expect(next.code, next.stderr).toBe(0)
    expect(JSON.parse((await mqR(u, dir, ['stats', 's', '--json'])).out)).toMatchObject({ready: 9})
  })

  it('the queue refuses through the relay as it does without it: full (75), a held key (4), a topic without subscribers (69)', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made))
    const relayNode = await warm(u, dir, 'b')
    expect((await mqR(u, dir, ['config', 'b', '--max-depth', '2'])).code).toBe(0)
    const full = await mqR(u, dir, ['push', 'b', 'over'])
    expect(full.code).toBe(75)
    expect(full.stderr).toBe('mq: b: queue full (2 of max-depth 2) (retry later, or push --wait)\n')
    const k1 = await mqR(u, dir, ['push', 'k', 'one', '--key', 'K'])
    expect(k1.code, k1.stderr).toBe(0)
    expect(node(k1.out.trim())).toBe(relayNode)
    const k2 = await mqR(u, dir, ['push', 'k', 'two', '--key', 'K'])
    expect(k2.code).toBe(4)
    expect(k2.out.trim()).toBe(k1.out.trim())
    expect((await mqR(u, dir, ['subscribe', 't', 'x'])).code).toBe(0)
    expect((await mqR(u, dir, ['unsubscribe', 't', 'x'])).code).toBe(0)
    const nosubs = await mqR(u, dir, ['push', 't', 'lost'])
    expect(nosubs.code).toBe(69)
    expect(nosubs.stderr).toContain('no subscribers')
    // The refusals left the relay serving: the next push is its.
    const after = await mqR(u, dir, ['push', 'k', 'three'])
    expect(node(after.out.trim())).toBe(relayNode)
    expect(JSON.parse((await mqR(u, dir, ['stats', 'k', '--json'])).out)).toMatchObject({ready: 2})
  })

  it('a reply lost after the relay committed: the command pushes itself with the same attempt, and the message is stored once', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made))
    const path = await relaySocket(u, dir, 'lost')
    // In the relay's place: commit the push it is handed, then hang up without a word.
    const engine = new PostgresBackend(u)
    let committed: string | undefined
    fakes.push(
      await fakeRelay(path, async (request, socket) => {
        const pushed = await engine.push(request.queue, request.messages.map((m, i) => ({...m, body: Buffer.from(request.bodies[i], 'base64')})), request.opts)
        committed = pushed[0].id
        socket.destroy()
      }),
    )
    try {
      const r = await mqR(u, dir, ['push', 'lost', 'once'])
      expect(r.code, r.stderr).toBe(0)
      expect(committed).toBeDefined()
      expect(r.out.trim()).toBe(committed)
      const stats = JSON.parse((await mqR(u, dir, ['stats', 'lost', '--json'])).out)
      expect(stats).toMatchObject({ready: 3})
      const bodies = JSON.parse((await mqR(u, dir, ['peek', 'lost', '--json'])).out).map((m: {body: string}) => m.body)
      expect(bodies).toEqual(['warm', 'warm', 'once'])
    } finally {
      await engine.close()
    }
  })

  it('a relay stopped with a request in its socket makes no push once it runs again: its command pushed itself, and the attempt\'s record may be gone', async () => {
    const dir = runtime()
    const schema = freshSchema(made)
    // The command waits connect_timeout + command_timeout (3 s) for the relay's reply.
    const u = withSchema(base, schema) + '&relay=60s&connect_timeout=1s&command_timeout=2s'
    const relayNode = await warm(u, dir, 'late')
    const [pid] = relaysOf(dir)
    process.kill(pid, 'SIGSTOP')
    try {
      const r = await mqR(u, dir, ['push', 'late', 'once'])
      expect(r.code, r.stderr).toBe(0)
      expect(node(r.out.trim())).not.toBe(relayNode) // the command's own push, after its wait
      // As if a minute had passed: the server forgets the attempt (ATTEMPT_TTL_MS), so a push of
      // the same request now would store its message a second time.
      await withPostgres(base, (c) => c.query(`DELETE FROM "${schema}".attempts`))
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    // The relay reads the stale request first, then this one (one connection: its pushes run in
    // the order it read them), so once this push has its reply the stale one has had its chance.
    const after = await mqR(u, dir, ['push', 'late', 'after'])
    expect(after.code, after.stderr).toBe(0)
    expect(node(after.out.trim())).toBe(relayNode)
    const bodies = JSON.parse((await mqR(u, dir, ['peek', 'late', '--json', '-n', '10'])).out).map((m: {body: string}) => m.body)
    expect(bodies).toEqual(['warm', 'warm', 'once', 'after'])
  })

  it('a relay that answers with an error, or with what is not a reply, is not believed: the command pushes itself', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made))
    const path = await relaySocket(u, dir, 'odd')
    for (const answer of ['{"error":"no"}\n', 'garbage\n', '{"ok":[{"id":42}]}\n']) {
      const fake = await fakeRelay(path, async (_request, socket) => void socket.end(answer))
      const r = await mqR(u, dir, ['push', 'odd', answer.slice(0, 5)])
      fake.close()
      expect(r.code, r.stderr).toBe(0)
      expect(r.out.trim()).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/)
    }
    expect(JSON.parse((await mqR(u, dir, ['stats', 'odd', '--json'])).out)).toMatchObject({ready: 2 + 3})
  })

  it('a relay killed -9 leaves its socket: the next push is the command\'s own and starts another', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made))
    const relayNode = await warm(u, dir, 'k9')
    const [pid] = relaysOf(dir)
    kill(pid)
    await eventually(() => relaysOf(dir).length, (n) => n === 0)
    expect(sockets(dir)).toHaveLength(1)
    const r = await mqR(u, dir, ['push', 'k9', 'after'])
    expect(r.code, r.stderr).toBe(0)
    expect(node(r.out.trim())).not.toBe(relayNode)
    const next = await eventually(() => relaysOf(dir), (p) => p.length === 1 && p[0] !== pid)
    expect(next).toHaveLength(1)
    expect(JSON.parse((await mqR(u, dir, ['stats', 'k9', '--json'])).out)).toMatchObject({ready: 2 + 1})
  })

  it('the URL\'s password is neither in the relay\'s command line nor in its environment', async () => {
    const dir = runtime()
    const pw = 'relay-secret-pw'
    const u = new URL(withSchema(base, freshSchema(made)))
    u.password = pw
    await warm(u.toString(), dir, 'pw')
    const [pid] = relaysOf(dir)
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(pw)
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/^mq relay postgres:/)
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(pw)
  })

  it('relay=off, MQ_RELAY=off, and a directory that is not the user\'s alone start no relay; pushes are the command\'s own', async () => {
    const u = withSchema(base, freshSchema(made))
    const off = runtime()
    for (const [url, env] of [[u + '&relay=off', {}], [u, {MQ_RELAY: 'off'}], [u + '&relay=0', {}]] as const) {
      const r = await mqR(url, off, ['push', 'off', 'x'], env)
      expect(r.code, r.stderr).toBe(0)
    }
    const open = runtime()
    mkdirSync(join(open, 'mq'))
    chmodSync(join(open, 'mq'), 0o755)
    expect((await mqR(u, open, ['push', 'off', 'x'])).code).toBe(0)
    // Whatever a relay would have done by now, it has not: none runs, no socket was made.
    await new Promise((r) => setTimeout(r, 1000))
    expect([...relaysOf(off), ...relaysOf(open), ...sockets(off), ...sockets(open)]).toEqual([])
    expect(JSON.parse((await mqR(u, off, ['stats', 'off', '--json'])).out)).toMatchObject({ready: 4})
  })

  it('a relay= that is not a duration is refused (78, one line), before anything is pushed', async () => {
    const dir = runtime()
    const u = withSchema(base, freshSchema(made))
    const r = await mqR(u + '&relay=soon', dir, ['push', 'q', 'x'])
    expect(r.code).toBe(78)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('relay=')
    expect(relaysOf(dir)).toEqual([])
  })

  /**
   * The socket of the relay for this URL and directory, with no relay behind it: a real relay
   * started (by a push), then killed, so a test can listen there in its place.
   */
  async function relaySocket(u: string, dir: string, queue: string): Promise<string> {
    await warm(u, dir, queue)
    const [pid] = relaysOf(dir)
    kill(pid)
    await eventually(() => relaysOf(dir).length, (n) => n === 0)
    const path = join(dir, 'mq', sockets(dir)[0])
    unlinkSync(path)
    return path
  }
})

interface Request {
  queue: string
  messages: Array<Record<string, unknown>>
  bodies: string[]
  opts: {attempt?: string}
}

/** A server on the relay's socket that does `act` with each request. */
async function fakeRelay(path: string, act: (request: Request, socket: import('node:net').Socket) => Promise<void>): Promise<Server> {
  const server = createServer((socket) => {
    let text = ''
    socket.on('data', (c) => {
      text += c
      if (text.includes('\n')) void act(JSON.parse(text.slice(0, text.indexOf('\n'))) as Request, socket)
    })
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return server
}

/** The pids of the relays running with XDG_RUNTIME_DIR=dir (their titles read "mq relay ..."). */
function relaysOf(dir: string): number[] {
  const pids: number[] = []
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('mq relay')) continue
      if (readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`XDG_RUNTIME_DIR=${dir}`)) pids.push(Number(p))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone already
  }
}
