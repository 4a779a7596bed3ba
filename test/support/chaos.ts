import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect} from 'vitest'

import {BIN, FIXTURES, run, type RunResult, sleep, userEnv} from './helpers.js'
import {hasProgram} from './servers.js'

/** `mq ARGS` with MQ_URL set, nothing else (no spool). */
export function mqAt(url: string, args: string[], opts: {input?: string; timeoutMs?: number} = {}): Promise<RunResult> {
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
    const child = spawn(process.execPath, [BIN, 'consume', 'q', '--lease', '2s', '--exec', handler], {env: userEnv({MQ_URL: u, OUT: out, SLEEP: '1'}), stdio: ['ignore', 'pipe', 'pipe']})
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
