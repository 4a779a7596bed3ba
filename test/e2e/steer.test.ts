import {spawn} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {mqAt} from '../support/chaos.js'
import {BIN, mq, run, type RunResult, sleep, tempSpool, userEnv} from '../support/helpers.js'
import {dropSchemas, freshPrefix, freshSchema, hasProgram, postgresUnavailable, redisServerUnavailable, type RedisServer, startRedis, withPrefix, withSchema} from '../support/servers.js'

// Seeing and steering through the command line (issue 21): show, wait, cancel, drop and
// stats --watch, with real processes, on the spool and on each server engine this machine has
// (required under CI=true: describeWithServer's rule, as in the other files).

type Mq = (args: string[], opts?: {input?: Buffer | string}) => Promise<RunResult>

/** `mq ARGS` running in the background: its result, and a way to signal it. */
function started(env: NodeJS.ProcessEnv, args: string[]): {done: Promise<{code: number | null; out: string; stderr: string}>; kill: (s: NodeJS.Signals) => void; out: () => string} {
  const child = spawn(process.execPath, [BIN, ...args], {env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (out += c))
  child.stderr.on('data', (c: Buffer) => (stderr += c))
  return {done: new Promise((resolve) => child.on('close', (code) => resolve({code, out, stderr}))), kill: (s) => child.kill(s), out: () => out}
}

function steering(name: string, unavailable: () => string | undefined, make: () => Promise<{env: NodeJS.ProcessEnv; mq: Mq}>): void {
  describe.skipIf(Boolean(unavailable()) && process.env.CI !== 'true')(`steering on ${name}`, () => {
    it('show: a field per line for people, --json, --body byte for byte; unknown id 66, not an id 65', async () => {
      const {mq: m} = await make()
      const body = Buffer.from([0x78, 0x00, 0xff, 0x79])
      const id = (await m(['push', 'jobs', '-H', 'who=ci'], {input: body})).out.trim()
      const human = await m(['show', 'jobs', id])
      expect(human.code, human.stderr).toBe(0)
      expect(human.out).toMatch(new RegExp(`^id\\s+${id}\\nqueue\\s+jobs\\nstate\\s+ready\\nattempts\\s+0\\n`))
      expect(human.out).toMatch(/\nheader who\s+ci\n/)
      expect(JSON.parse((await m(['show', 'jobs', id, '--json'])).out)).toMatchObject({id, queue: 'jobs', size: 4, state: 'ready'})
      const raw = await m(['show', 'jobs', id, '--body'])
      expect(raw.stdout.equals(body)).toBe(true)
      const unknown = await m(['show', 'jobs', '0000000000000000-0000000000000000'])
      expect(unknown.code).toBe(66)
      expect(unknown.stderr.trim().split('\n')).toHaveLength(1)
      expect((await m(['show', 'jobs', 'nonsense'])).code).toBe(65)
      expect((await m(['show', 'nosuch', id])).code).toBe(66)
      // A message waiting to be retried: why its last delivery failed, from the worker.
      const r = (await m(['push', 'retry', 'x'])).out.trim()
      expect((await m(['consume', 'retry', '--max-messages', '1', '--shell', 'cat >/dev/null; echo "disk on fire" >&2; exit 3'])).code).toBe(0)
      const shown = await m(['show', 'retry', r])
      expect(shown.out).toMatch(/\nstate\s+delayed\n/)
      expect(shown.out).toMatch(/\nlast failure\s+exit status 3, /)
      expect(shown.out).toMatch(/\nstderr \(tail\):\n.*disk on fire/)
      expect(JSON.parse((await m(['show', 'retry', r, '--json'])).out).lastFailure).toMatchObject({exitCode: 3})
    })

    it('wait: blocks until each message is done or dead; 65 when one died, 75 on --timeout, 66 for an unknown id at once', async () => {
      const {env, mq: m} = await make()
      const good = (await m(['push', 'ci', 'good'])).out.trim()
      const bad = (await m(['push', 'ci', 'bad'])).out.trim()
      const early = await m(['wait', 'ci', good, '--timeout', '300ms'])
      expect(early.code, early.stderr).toBe(75)
      expect(early.stderr).toMatch(/1 not finished within 300ms/)
      const waiting = started(env, ['wait', 'ci', good, bad])
      await sleep(300)
      const drain = await m(['consume', 'ci', '--drain', '--shell', 'grep -q good || { echo "cannot handle it" >&2; exit 100; }'])
      expect(drain.code, drain.stderr).toBe(65)
      const w = await waiting.done
      expect(w.code, w.stderr).toBe(65)
      expect(w.out.trim().split('\n').sort()).toEqual([`${bad} dead`, `${good} done`].sort())
      expect(w.stderr).toMatch(/dead-lettered: /)
      const shown = JSON.parse((await m(['show', 'ci', bad, '--json'])).out)
      expect(shown).toMatchObject({reason: {exitCode: 100, reason: 'rejected'}, state: 'dead'})
      expect(shown.reason.stderrTail).toMatch(/cannot handle it/)
      const ok = await m(['wait', 'ci', good, '--json'])
      expect(ok.code).toBe(0)
      expect(JSON.parse(ok.out)).toEqual({dead: [], done: [good], pending: [], queue: 'ci', unknown: []})
      const unknown = await m(['wait', 'ci', good, '0000000000000000-0000000000000000', '--timeout', '1m'])
      expect(unknown.code).toBe(66)
      // One that vanishes unfinished while waited for (cancelled): 66, not "done".
      const doomed = (await m(['push', 'ci', 'later', '--delay', '1h'])).out.trim()
      const waitingForIt = started(env, ['wait', 'ci', doomed])
      await sleep(300)
      expect((await m(['cancel', 'ci', doomed])).code).toBe(0)
      const vanished = await waitingForIt.done
      expect(vanished.code, vanished.stderr).toBe(66)
      expect(vanished.stderr).toMatch(/went unfinished/)
    })

    it('cancel: removes what waits, refuses what is in flight (66, one line), and the consumer never gets a cancelled one', async () => {
      const {mq: m} = await make()
      const first = (await m(['push', 'c', 'one'])).out.trim()
      const second = (await m(['push', 'c', 'two'])).out.trim()
      const popped = JSON.parse((await m(['pop', 'c', '--json'])).out)
      expect(popped.id).toBe(first)
      const r = await m(['cancel', 'c', first, second])
      expect(r.code).toBe(66)
      expect(r.out).toBe(`${second}\n`)
      expect(r.stderr).toMatch(/not cancelled: in flight/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect((await m(['pop', 'c'])).code).toBe(3)
      expect((await m(['ack', 'c', popped.receipt])).code).toBe(0)
    })

    it('drop: refused without --force off a terminal (64, nothing lost); with it, the queue is gone and a push starts afresh', async () => {
      const {mq: m} = await make()
      await m(['push', 'ci-123', 'a'])
      await m(['push', 'ci-123', 'b'])
      const refused = await m(['drop', 'ci-123'])
      expect(refused.code).toBe(64)
      expect(refused.stderr).toMatch(/Drop queue ci-123 and its 2 messages: refusing without --force/)
      expect(JSON.parse((await m(['stats', 'ci-123', '--json'])).out)).toMatchObject({ready: 2})
      const dropped = await m(['drop', 'ci-123', '--force', '--json'])
      expect(dropped.code, dropped.stderr).toBe(0)
      expect(JSON.parse(dropped.out)).toEqual({dropped: true, messages: 2, queue: 'ci-123'})
      expect((await m(['stats', 'ci-123'])).code).toBe(66)
      expect((await m(['push', 'ci-123', 'c'])).code).toBe(0)
      expect(JSON.parse((await m(['stats', 'ci-123', '--json'])).out)).toMatchObject({ready: 1})
    })

    it('stats --watch: a sample per interval with push and ack rates, until interrupted (0)', async () => {
      const {env, mq: m} = await make()
      await m(['push', 'w', 'x'])
      // "--watch 400ms" would read 400ms as a queue: said so, with the way it is given.
      const misread = await m(['stats', '--watch', '400ms'])
      expect(misread.code).toBe(64)
      expect(misread.stderr).toMatch(/--watch=400ms/)
      const watching = started(env, ['stats', 'w', '--watch=400ms', '--json'])
      // Samples are counted, not waited for by the clock: a busy machine only makes them later.
      const samplesSoFar = () => watching.out().split('\n').filter(Boolean).length
      while (samplesSoFar() < 1) await sleep(50)
      for (let i = 0; i < 4; i++) await m(['push', 'w', `m${i}`])
      const after = samplesSoFar()
      while (samplesSoFar() < Math.max(3, after + 2)) await sleep(50) // the second one after surely began after the pushes
      watching.kill('SIGINT')
      const r = await watching.done
      expect(r.code, r.stderr).toBe(0)
      const samples = r.out.trim().split('\n').map((l) => JSON.parse(l))
      expect(samples.length).toBeGreaterThanOrEqual(3)
      expect(samples[0].queues[0]).toMatchObject({ackRate: null, pushRate: null, queue: 'w'})
      expect(samples.at(-1).queues[0]).toMatchObject({queue: 'w', ready: 5})
      expect(samples.slice(1).some((s: {queues: Array<{pushRate: number}>}) => s.queues[0].pushRate > 0)).toBe(true)
    })
  })
}

describe.skipIf(!hasProgram('script') && process.env.CI !== 'true')('stats --watch on a terminal', () => {
  it('redraws the table in place (cursor up, clear to the end), on a pseudo-terminal of script(1)', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'w', 'x'])
    // script(1) gives mq a terminal; timeout(1) interrupts it as Ctrl-C would.
    const r = await run('timeout', ['-s', 'INT', '4', 'script', '-qfec', `${process.execPath} ${BIN} stats --watch=300ms`, '/dev/null'], {env: {MQ_SPOOL: spool}, timeoutMs: 20_000})
    const out = r.stdout.toString('utf8')
    expect(out).toMatch(/QUEUE\s+READY\s+INFLIGHT\s+DELAYED\s+DONE\s+DEAD\s+PUSH\/S\s+ACK\/S\s+OLDEST/)
    expect(out).toMatch(/\u001B\[3A\r\u001B\[J/) // back over the last drawing (3 lines), then clear
    expect(out).toMatch(/\(Ctrl-C to stop\)/)
  })
})

steering('the spool', () => undefined, async () => {
  const spool = tempSpool()
  return {env: {MQ_SPOOL: spool}, mq: (args, opts) => mq(spool, args, opts)}
})

let redis: RedisServer | undefined
beforeAll(async () => {
  if (!redisServerUnavailable()) redis = await startRedis()
})
afterAll(async () => {
  await redis?.destroy()
})
steering('redis', redisServerUnavailable, async () => {
  if (!redis) throw new Error(`CI=true: ${redisServerUnavailable()}`)
  const u = withPrefix(redis.url, freshPrefix())
  return {env: {MQ_SPOOL: '/nonexistent/mq-spool-unused', MQ_URL: u}, mq: (args, opts) => mqAt(u, args, opts)}
})

const made: string[] = []
afterAll(async () => {
  if (process.env.MQ_TEST_POSTGRES_URL) await dropSchemas(process.env.MQ_TEST_POSTGRES_URL, made)
})
steering('postgres', postgresUnavailable, async () => {
  const base = process.env.MQ_TEST_POSTGRES_URL
  if (!base) throw new Error(`CI=true: ${postgresUnavailable()}`)
  const u = withSchema(base, freshSchema(made))
  return {env: {MQ_SPOOL: '/nonexistent/mq-spool-unused', MQ_URL: u}, mq: (args, opts) => mqAt(u, args, opts)}
})
