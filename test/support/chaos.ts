import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'vitest'

import {type Driver} from '../../src/backend.js'
import {BIN, FIXTURES, run, type RunResult, sleep, userEnv} from './helpers.js'
import {hasProgram} from './servers.js'

/** `mq ARGS` with MQ_URL set, nothing else (no spool). */
export function mqAt(url: string, args: string[], opts: {input?: Buffer | string; timeoutMs?: number} = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], {env: {MQ_SPOOL: '/nonexistent/mq-spool-unused', MQ_URL: url}, input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000})
}

/**
 * The crash torture for a server engine, with real CLI processes: two producers push 25
 * messages each and two consumers pop and ack, every process SIGKILLed at a random moment with
 * some probability; then a last consumer drains the queue. Asserts that every printed id is
 * acked exactly once (an ack killed after its commit counts: nothing of it is left), that no
 * ack succeeds twice, that redeliveries are only of deliveries that
 * were not acked (a killed pop or ack), and that nothing is left.
 */
export async function killNineTorture(u: string): Promise<{confirmed: string[]}> {
  // Deliveries cut short by kills must not dead-letter a message: that is another promise.
  expect((await mqAt(u, ['config', 't', '--max-attempts', '1000'])).code).toBe(0)
    const LEASE = '1s'
    const confirmed: string[] = []
    const acked = new Map<string, number>()
    // An ack killed after the server committed it: acked, though its process never said so.
    const ackKilled = new Set<string>()
    const deliveries: Array<{id: string; attempt: number}> = []
    let consumerKills = 0
    /** Runs mq, SIGKILLed after a random moment with probability `p`; resolves with what it printed. */
    const chaos = (args: string[], p: number) =>
      new Promise<{code: number | null; out: string; killed: boolean}>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], {env: userEnv({MQ_URL: u}), stdio: ['ignore', 'pipe', 'ignore']})
        let out = ''
        child.stdout.on('data', (c: Buffer) => (out += c))
        let killed = false
        const timer = Math.random() < p ? setTimeout(() => ((killed = child.kill('SIGKILL')), undefined), 60 + Math.random() * 250) : undefined
        child.on('close', (code) => {
          clearTimeout(timer)
          resolve({code, killed: killed && code === null, out})
        })
      })
    const producer = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await chaos(['push', 't', `m${i}`], 0.3)
        if (r.code === 0) confirmed.push(r.out.trim())
      }
    }
    const consumer = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        const pop = await chaos(['pop', 't', '--json', '--lease', LEASE], 0.2)
        if (pop.killed) consumerKills++
        if (pop.code !== 0) continue
        const d = JSON.parse(pop.out)
        deliveries.push({attempt: d.attempt, id: d.id})
        const ack = await chaos(['ack', 't', d.receipt], 0.2)
        if (ack.killed) {
          consumerKills++
          ackKilled.add(d.id)
        }
        if (ack.code === 0) acked.set(d.id, (acked.get(d.id) ?? 0) + 1)
      }
    }
    await Promise.all([producer(25), producer(25), consumer(30), consumer(30)])
    // Then drain what is left, leases of killed consumers included, with nobody killed.
    for (;;) {
      const pop = await mqAt(u, ['pop', 't', '--json', '--lease', LEASE, '--wait', '2500ms'])
      if (pop.code === 3) break
      expect(pop.code, pop.stderr).toBe(0)
      const d = JSON.parse(pop.out)
      deliveries.push({attempt: d.attempt, id: d.id})
      expect((await mqAt(u, ['ack', 't', d.receipt])).code).toBe(0)
      acked.set(d.id, (acked.get(d.id) ?? 0) + 1)
    }
    expect(confirmed.length).toBeGreaterThan(10)
    // Every printed id was acked once: by an ack that said so, or by one killed after its commit
    // (then no later delivery of it was seen, and the queue is empty below).
    for (const id of confirmed) expect(acked.get(id) === 1 || (!acked.has(id) && ackKilled.has(id)), id).toBe(true)
    for (const n of acked.values()) expect(n).toBe(1)
    // A message comes back only when a delivery of it was not acked: a killed pop or ack.
    const redelivered = deliveries.filter((d) => d.attempt > 1).length
    const unackedSeen = deliveries.length - acked.size
    expect(redelivered).toBeLessThanOrEqual(consumerKills + unackedSeen)
    expect(JSON.parse((await mqAt(u, ['stats', 't', '--json'])).out)).toMatchObject({dead: 0, delayed: 0, inflight: 0, ready: 0})
    return {confirmed}
}

/**
 * A bound under racing producers: 8 CLI pushes at once into a queue of max-depth 3. Exactly 3
 * succeed and 5 fail with 75, whatever the interleaving (the engines that promise an exact bound).
 */
export async function boundUnderRacingPushes(u: string): Promise<void> {
  expect((await mqAt(u, ['config', 'b', '--max-depth', '3'])).code).toBe(0)
  const rs = await Promise.all(Array.from({length: 8}, (_, i) => mqAt(u, ['push', 'b', `m${i}`])))
  expect(rs.map((r) => r.code).sort()).toEqual([0, 0, 0, 75, 75, 75, 75, 75])
  expect(JSON.parse((await mqAt(u, ['stats', 'b', '--json'])).out)).toMatchObject({ready: 3})
}

/**
 * A server taken away under a running `mq consume` (by `stop`, once the consumer holds a
 * message): the consumer says so in one line naming the URL's scheme and exits 69; it neither
 * hangs nor spins.
 */
export async function consumeLosesServer(u: string, stop: () => Promise<void> | void): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'mq-out-'))
  try {
    await mqAt(u, ['push', 'q', 'first'])
    const handler = join(FIXTURES, 'handlers', 'sleep.sh')
    // The handler runs long enough (5 s) for the loop below to see it in flight on a loaded machine.
    const child = spawn(process.execPath, [BIN, 'consume', 'q', '--lease', '2s', '--exec', handler], {env: userEnv({MQ_URL: u, OUT: out, SLEEP: '5'}), stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    child.stderr.on('data', (c: Buffer) => (err += c))
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    // Wait until it holds the message, then take the server away.
    for (let i = 0; i < 200; i++) {
      const s = JSON.parse((await mqAt(u, ['stats', 'q', '--json'])).out)
      if (s.inflight === 1) break
      await sleep(50)
    }
    await stop()
    const code = await Promise.race([exited, sleep(30_000).then(() => 'hung')])
    expect(code, err).toBe(69)
    expect(err).toMatch(/cannot reach the server|no answer from the server|did not answer/)
    const scheme = new URL(u).protocol.replace(':', '')
    expect(err.trim().split('\n').filter((l) => l.startsWith(`mq: ${scheme}`)).length, err).toBe(1)
  } finally {
    rmSync(out, {force: true, recursive: true})
  }
}

/**
 * A server crash between push and pop: 10 single pushes and a batch of 50 print their ids,
 * `crash` takes the server down hard and brings it back, and one consumer gets every printed id
 * back, in order (one process for the drain, not one per message: the test is about the crash).
 */
export async function pushesSurviveCrash(u: string, crash: () => Promise<void> | void): Promise<void> {
  const ids: string[] = []
  for (let i = 0; i < 10; i++) ids.push((await mqAt(u, ['push', 'q', `m${i}`])).out.trim())
  const batch = await mqAt(u, ['push', 'q', '--batch'], {input: Array.from({length: 50}, (_, i) => `b${i}`).join('\n')})
  ids.push(...batch.out.trim().split('\n'))
  expect(ids).toHaveLength(60)
  await crash()
  // One consumer takes everything that is ready, one at a time (so in claim order), and acks it.
  const r = await mqAt(u, ['consume', 'q', '--once', '--json', '--exec', 'true'])
  expect(r.code, r.stderr).toBe(0)
  const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as {id: string; result: string})
  expect(events.map((e) => e.result)).toEqual(ids.map(() => 'ack'))
  expect(events.map((e) => e.id)).toEqual(ids) // all of them, in order
  expect((await mqAt(u, ['pop', 'q'])).code).toBe(3)
}

/** Why a consumer with a skewed clock cannot be run here (no Debian `faketime`), or undefined. */
export function faketimeUnavailable(): string | undefined {
  return hasProgram('faketime') ? undefined : 'no faketime on PATH (install Debian package faketime)'
}

/**
 * A consumer whose clock runs 10 minutes ahead of the server's (faketime; monotonic time left
 * real, so its timers run true) keeps its lease for the whole of a handler that outlives the
 * lease: time is the server's, the lease crosses the contract as a duration. Queue lease 4 s,
 * handler 7 s; while it runs, another (unskewed) client pops again and again and must find
 * nothing, and the handler runs exactly once. A consumer that turned the server's deadline
 * into a duration with its own clock renewed with ~1 ms and lost the message at once.
 */
export async function skewedConsumerKeepsLease(u: string): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'mq-skew-'))
  try {
    expect((await mqAt(u, ['config', 'skew', '--lease', '4s'])).code).toBe(0)
    const id = (await mqAt(u, ['push', 'skew', 'work'])).out.trim()
    const handler = join(FIXTURES, 'handlers', 'sleep.sh')
    const env = userEnv({FAKETIME_DONT_FAKE_MONOTONIC: '1', MQ_URL: u, OUT: out, SLEEP: '7'})
    const child = spawn('faketime', ['-f', '+10m', process.execPath, BIN, 'consume', 'skew', '--max-messages', '1', '--exec', handler], {env, stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    child.stderr.on('data', (c: Buffer) => (err += c))
    let gone = false
    const exited = new Promise<number | null>((r) =>
      child.on('close', (code) => {
        gone = true
        r(code)
      }),
    )
    const log = () => (existsSync(join(out, 'sleep.log')) ? readFileSync(join(out, 'sleep.log'), 'utf8') : '')
    for (let i = 0; i < 600 && !gone && !log().includes('start'); i++) await sleep(50)
    expect(log(), err).toContain(`start ${id} 1`)
    // The other client, while the handler runs past the lease: nothing to take.
    const stolen: string[] = []
    while (!gone && !log().includes('end')) {
      const pop = await mqAt(u, ['pop', 'skew', '--lease', '1m'])
      if (pop.code === 0) stolen.push(pop.out)
      else expect(pop.code, pop.stderr).toBe(3)
      await sleep(300)
    }
    expect(await Promise.race([exited, sleep(30_000).then(() => 'hung')]), err).toBe(0)
    expect(stolen).toEqual([])
    expect(log().match(/^start /gm)).toHaveLength(1)
    expect(JSON.parse((await mqAt(u, ['stats', 'skew', '--json'])).out)).toMatchObject({inflight: 0, ready: 0})
  } finally {
    rmSync(out, {force: true, recursive: true})
  }
}

/**
 * Replies lost with the connection (issue 23, item 1), through a FaultProxy in front of the
 * server on `serverPort`, with real CLI processes:
 * - a push whose reply is lost is tried again on a new connection and stored once (0, its id);
 * - one that cannot be tried again (the proxy refuses) is 76, one line, "may be stored", and it
 *   is stored once (the cut came after the server did it);
 * - an ack whose reply is lost is tried again: 0 where the engine answers a repeated ack as the
 *   first (`exactAck`), else 76 "most likely took effect"; either way the message is acked.
 * The cut falls on the request that carries the body (`wire`: how the engine's protocol writes
 * a body), so that it is the push itself, not a look before it, whose reply is lost.
 */
export async function lostReplies(u: string, serverPort: number, opts: {exactAck: boolean; wire: (body: string) => string}): Promise<void> {
  const {exactAck, wire} = opts
  const {FaultProxy} = await import('./proxy.js')
  const proxy = await FaultProxy.start(serverPort)
  const via = new URL(u)
  via.port = String(proxy.port)
  const v = via.toString()
  const ids = async (q: string) => JSON.parse((await mqAt(u, ['peek', q, '--all', '--json'])).out).map((m: {id: string}) => m.id)
  try {
    // The engine set up on the server first (Redis's scripts loaded, PostgreSQL's schema made):
    // the cut must fall on the push itself.
    expect((await mqAt(u, ['push', 'warm', 'x'])).code).toBe(0)
    proxy.cutAfter(wire('body-of-once'))
    const once = await mqAt(v, ['push', 'lostpush', 'body-of-once'])
    expect(proxy.cuts).toBe(1)
    expect(once.code, once.stderr).toBe(0)
    expect(await ids('lostpush')).toEqual([once.out.trim()])

    proxy.cutAfter(wire('body-of-maybe'), {refuse: true})
    const maybe = await mqAt(v, ['push', 'lostmaybe', 'body-of-maybe'])
    expect(proxy.cuts).toBe(2)
    expect(maybe.code, maybe.stderr).toBe(76)
    expect(maybe.stderr).toMatch(/^mq: push to lostmaybe: the outcome is unknown: .*may be stored/)
    expect(maybe.stderr.trim().split('\n')).toHaveLength(1)
    expect(maybe.out).toBe('')
    expect(await ids('lostmaybe')).toHaveLength(1)
  } finally {
    await proxy.close()
  }
  const again = await FaultProxy.start(serverPort)
  via.port = String(again.port)
  try {
    const id = (await mqAt(u, ['push', 'lostack', 'a'])).out.trim()
    const d = JSON.parse((await mqAt(u, ['pop', 'lostack', '--json'])).out)
    expect(d.id).toBe(id)
    again.cutAfter(String(d.receipt).split(':').pop()!)
    const ack = await mqAt(via.toString(), ['ack', 'lostack', d.receipt])
    expect(again.cuts).toBe(1)
    if (exactAck) {
      expect(ack.code, ack.stderr).toBe(0)
    } else {
      expect(ack.code, ack.stderr).toBe(76)
      expect(ack.stderr).toMatch(/^mq: ack in lostack: the outcome is unknown: .*most likely took effect/)
      expect(ack.stderr.trim().split('\n')).toHaveLength(1)
    }
    expect(JSON.parse((await mqAt(u, ['stats', 'lostack', '--json'])).out)).toMatchObject({done: 1, inflight: 0, ready: 0})
  } finally {
    await again.close()
  }
}

/**
 * A server engine's body limit (max_body=), through the CLI: a body over it, as an argument or
 * on stdin, is refused with one line and 65, and nothing of it is stored; one at the limit goes
 * in whole; a body over the default 32MiB is refused without max_body=.
 */
export async function bodyLimit(u: string): Promise<void> {
  const small = `${u}&max_body=1KiB`
  const over = await mqAt(small, ['push', 'big', 'x'.repeat(1025)])
  expect(over.code, over.stderr).toBe(65)
  expect(over.stderr).toMatch(/^mq: big: a message body is larger than the \w+ engine's limit of 1KiB \(max_body=1KiB; 1025 bytes read\); nothing was pushed/)
  expect(over.stderr.trim().split('\n')).toHaveLength(1)
  const streamed = await mqAt(small, ['push', 'big'], {input: 'y'.repeat(5000)})
  expect(streamed.code, streamed.stderr).toBe(65)
  const fits = await mqAt(small, ['push', 'big', 'z'.repeat(1024)])
  expect(fits.code, fits.stderr).toBe(0)
  const kept = JSON.parse((await mqAt(u, ['peek', 'big', '--all', '--json'])).out)
  expect(kept.map((m: {id: string; body: string}) => [m.id, m.body.length])).toEqual([[fits.out.trim(), 1024]])
  const dflt = await mqAt(u, ['push', 'big'], {input: Buffer.alloc(32 * 1024 * 1024 + 1, 0x61).toString()})
  expect(dflt.code, dflt.stderr).toBe(65)
  expect(dflt.stderr).toMatch(/limit of 32MiB/)
  const wrong = await mqAt(`${u}&max_body=lots`, ['push', 'big', 'x'])
  expect(wrong.code).toBe(78)
  expect(wrong.stderr).toMatch(/max_body= takes a size/)
}

/**
 * A push sent twice under one attempt name (what the queue layer does after a lost reply)
 * stores once and answers the same ids, through the driver itself: a batch of several script
 * calls or statements, and a topic with two subscribers.
 */
export async function attemptsStoreOnce(driver: Driver): Promise<void> {
  try {
    const batch = Array.from({length: 2500}, (_, i) => ({body: Buffer.from(`m${i}`)}))
    const first = await driver.push('att', batch, {attempt: 'attempt-one'})
    const second = await driver.push('att', batch, {attempt: 'attempt-one'})
    expect(second).toEqual(first)
    expect(new Set(first.map((p) => p.id)).size).toBe(2500)
    expect((await driver.stats('att'))[0]).toMatchObject({ready: 2500})
    // Another attempt is another push.
    await driver.push('att', [{body: Buffer.from('other')}], {attempt: 'attempt-two'})
    expect((await driver.stats('att'))[0]).toMatchObject({ready: 2501})
    // RACE: the second try arriving while the first still runs (a reply that timed out): one stores.
    const racing = await Promise.all([1, 2, 3].map(() => driver.push('att', [{body: Buffer.from('raced')}], {attempt: 'attempt-four'})))
    expect(racing[1]).toEqual(racing[0])
    expect(racing[2]).toEqual(racing[0])
    expect((await driver.stats('att'))[0]).toMatchObject({ready: 2502})
    await driver.subscribe('att-topic', 'att-a')
    await driver.subscribe('att-topic', 'att-b')
    const t1 = await driver.push('att-topic', [{body: Buffer.from('fan')}], {attempt: 'attempt-three'})
    const t2 = await driver.push('att-topic', [{body: Buffer.from('fan')}], {attempt: 'attempt-three'})
    expect(t2).toEqual(t1)
    for (const q of ['att-a', 'att-b']) expect((await driver.peek(q, {limit: 10, state: 'ready'})).map((m) => m.id)).toEqual([t1[0].id])
  } finally {
    await driver.close()
  }
}
