import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {Consumer} from '../../src/consume/worker.js'

import {type Backend, type Capabilities, type ClaimDriver, type QueueStats} from '../../src/backend.js'
import {claimWithWait, Queue} from '../../src/queue.js'
import {DataError, NoInputError, NoSubscribersError, NoSuchQueueError, NotInFlightError, NotSubscribedError, NotSupportedError, QueueFullError, QueuePausedError, UsageError} from '../../src/errors.js'
import {BIN, eventually, FIXTURES, run, sleep} from '../support/helpers.js'
// @ts-expect-error: a plain JavaScript module shared with test/fixtures/peer.mjs
import {modes} from '../fixtures/peer-modes.mjs'

/**
 * What every engine promises, written once: the executable form of src/backend.ts, of the
 * README and of man/mq.1 (everything there that is not about files). Each engine's test file
 * calls behaviourSuite with a factory of fresh, empty stores; every test talks to the engine
 * through the contract only.
 *
 * Capabilities (src/backend.ts): for each one an engine declares, the tests of that behaviour
 * run; for each one it does not, a test checks that the operation fails with
 * NotSupportedError instead of answering wrongly.
 *
 * Peers: races and waits involve a second party. For an engine whose messages processes share
 * (`url`), peers are other processes (test/fixtures/peer.mjs, through the built library); for
 * the others, other instances on the same store in this process. Both run the same routines
 * (test/fixtures/peer-modes.mjs).
 */
export interface Store {
  /** An instance on this store (tests open several: they are separate clients). */
  open(): Promise<Backend>
  /** For engines shared between processes: the URL another process opens. */
  url?: string
}

export interface EngineUnderTest {
  name: string
  /** A URL the command line opens this engine by, when it has one (the memory engine's, memory:). */
  cliUrl?: string
  capabilities: Capabilities
  /**
   * Where an engine keeps a weaker form of a promise than the others, said here, in its
   * driver's comment and in the README (RabbitMQ), and tested in that form.
   */
  quirks?: {
    /**
     * A delivery belongs to the client (connection) that claimed it: only that client settles
     * its receipt, and its lease ends (the message is given back) when the lease runs out or the
     * client closes, whichever comes first.
     */
    clientBound?: boolean
    /** The depth bound counts ready messages only, not in-flight or delayed ones (the broker's own length limit). */
    boundCountsReadyOnly?: boolean
    /** A queue's settings are given when it is made; changing them later is NotSupportedError. */
    fixedSettings?: boolean
  }
  /** A fresh, empty store for one test. */
  fresh(): Promise<Store>
}

type PeerMode = 'ack' | 'ack-one' | 'claim-at' | 'claim-wait' | 'drain' | 'push' | 'push-key-at' | 'renew'
const PEER = join(FIXTURES, 'peer.mjs')

/**
 * Runs a peer routine in another process (shared engines) or another instance here; its output
 * lines. `inProcess`: another instance here even for a shared engine, left open until the test
 * ends (a client-bound engine gives back a claim when its client closes).
 */
async function peer(store: Store, mode: PeerMode, ...args: Array<number | string>): Promise<string[]> {
  return peerIn(store, false, mode, ...args)
}
async function peerIn(store: Store, inProcess: boolean, mode: PeerMode, ...args: Array<number | string>): Promise<string[]> {
  const strings = args.map(String)
  if (inProcess) return (modes as Record<PeerMode, (b: Backend, args: string[]) => Promise<string[]>>)[mode](await store.open(), strings)
  if (store.url) {
    const r = await run(process.execPath, [PEER, store.url, mode, ...strings], {timeoutMs: 60_000})
    if (r.code !== 0) throw new Error(`peer ${mode} exited ${r.code}: ${r.stderr}`)
    return r.out.split('\n').filter(Boolean)
  }
  const b = await store.open()
  try {
    return await (modes as Record<PeerMode, (b: Backend, args: string[]) => Promise<string[]>>)[mode](b, strings)
  } finally {
    await b.close()
  }
}

const text = (s: string) => ({body: Buffer.from(s)})

/**
 * The counts of a queue match, where the engine knows them: a count it cannot know is null and
 * listed in `unknown` (RabbitMQ's in flight, delayed, done), never a 0 that is not known.
 */
async function expectStats(b: Backend, queue: string, expected: Partial<QueueStats>): Promise<void> {
  const [s] = await b.stats(queue)
  const unknown: string[] = s.unknown ?? []
  for (const field of unknown) expect(s[field as keyof QueueStats]).toBeNull()
  expect(s).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([k]) => !unknown.includes(k))))
}
const bodies = (list: Array<{body?: Buffer}>) => list.map((m) => m.body?.toString())

export function behaviourSuite(engine: EngineUnderTest): void {
  const caps = engine.capabilities
  /** The tests of a capability, or the check that its absence is said, not hidden. */
  const capability = (c: keyof Capabilities, supported: () => void, unsupported?: () => void) => {
    if (caps[c]) supported()
    else if (unsupported) it(`${c} is not supported: said (78), never answered wrongly`, unsupported)
  }
  // Every client a test opens is closed after it (a server engine's connections, above all).
  const opened: Backend[] = []
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()))
  })
  const fresh = async (): Promise<Store> => {
    const store = await engine.fresh()
    return {
      ...store,
      async open() {
        const b = await store.open()
        opened.push(b)
        return b
      },
    }
  }
  const setup = async () => {
    const store = await fresh()
    return {b: await store.open(), store}
  }
  const quirks = engine.quirks ?? {}
  /** The bodies of a queue's ready messages in order: peeked, or (an engine that cannot peek them) claimed and acked. */
  const readyBodies = async (b: Backend, queue: string): Promise<Array<string | undefined>> => {
    if (caps.inspect) return bodies(await b.peek(queue, {bodies: true, limit: 100, state: 'ready'}))
    const out: string[] = []
    for (let d = await b.claim(queue); d; d = await b.claim(queue)) {
      out.push(d.body.toString())
      await b.ack(queue, d.receipt)
    }
    return out
  }

  describe(`${engine.name}: push and claim`, () => {
    it('delivers what was pushed, once, with its id, attempt 1, size and times', async () => {
      const {b} = await setup()
      const before = Date.now()
      const [p] = await b.push('q', [text('hello')])
      expect(p).toMatchObject({state: 'ready'})
      const d = (await b.claim('q'))!
      expect(d).toMatchObject({attempt: 1, id: p.id, leaseMs: 300_000, priority: 0, queue: 'q', size: 5})
      expect(d.enqueuedAt).toBeGreaterThanOrEqual(before - 1000)
      expect(d.leaseUntil).toBeGreaterThan(Date.now())
      expect(d.body.toString()).toBe('hello')
      expect(await b.claim('q')).toBeNull()
    })

    it('delivers in FIFO order, and a batch comes back in input order', async () => {
      const {b} = await setup()
      const pushed = await b.push('q', ['1', '2', '3', '4'].map(text))
      await b.push('q', [text('5')])
      const got: string[] = []
      for (let d = await b.claim('q'); d; d = await b.claim('q')) got.push(d.body.toString())
      expect(got).toEqual(['1', '2', '3', '4', '5'])
      expect(pushed.map((p) => p.state)).toEqual(['ready', 'ready', 'ready', 'ready'])
    })

    it('round-trips binary bodies exactly, whole and streamed', async () => {
      const {b} = await setup()
      const body = Buffer.from(Array.from({length: 200_000}, (_, i) => (i * 7) % 256))
      await b.push('q', [{body}])
      const d = (await b.claim('q'))!
      expect(d.size).toBe(body.length)
      const chunks: Buffer[] = []
      for await (const c of d.openBody()) chunks.push(c as Buffer)
      expect(Buffer.concat(chunks).equals(body)).toBe(true)
      expect(d.body.equals(body)).toBe(true)
    })

    it('takes a body as a stream; an empty stream is refused unless allowed', async () => {
      const {b} = await setup()
      async function* parts() {
        yield Buffer.from('str')
        yield Buffer.from('eamed')
      }
      await b.push('q', [{body: parts()}])
      expect((await b.claim('q'))!.body.toString()).toBe('streamed')
      async function* nothing() {}
      await expect(b.push('q', [{body: nothing()}])).rejects.toBeInstanceOf(NoInputError)
      await b.push('q', [{allowEmpty: true, body: nothing()}])
      expect((await b.claim('q'))!.size).toBe(0)
    })

    it('claims nothing from a queue that does not exist, and does not create it', async () => {
      const {b} = await setup()
      expect(await b.claim('nobody-pushed-here')).toBeNull()
      expect(await b.exists('nobody-pushed-here')).toBe(false)
      await b.push('q', [text('x')])
      expect(await b.exists('q')).toBe(true)
    })

    it('refuses a name that is not a queue name', async () => {
      const {b} = await setup()
      await expect(b.push('../etc', [text('x')])).rejects.toMatchObject({exitCode: 64})
      await expect(b.claim('a b')).rejects.toMatchObject({exitCode: 64})
    })

    it('carries user headers to the delivery and to peek', async () => {
      const {b} = await setup()
      await b.push('q', [{...text('x'), headers: {'content-type': 'text/plain', trace: 'abc'}}])
      if (caps.inspect) expect((await b.peek('q', {limit: 1, state: 'ready'}))[0].headers).toEqual({'content-type': 'text/plain', trace: 'abc'})
      expect((await b.claim('q'))!.headers).toEqual({'content-type': 'text/plain', trace: 'abc'})
    })
  })

  describe(`${engine.name}: settling a delivery`, () => {
    it('acks once; every later use of the receipt is "not in flight"', async () => {
      const {b} = await setup()
      const [p] = await b.push('q', [text('x')])
      const d = (await b.claim('q'))!
      expect(await b.ack('q', d.receipt)).toBe(p.id)
      await expect(b.ack('q', d.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      await expect(b.release('q', d.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      await expect(b.renew('q', d.receipt, 1000)).rejects.toBeInstanceOf(NotInFlightError)
      await expect(b.deadLetter('q', d.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      await expectStats(b, 'q', {done: 1, inflight: 0, ready: 0})
    })

    it('refuses what is neither a receipt nor a message id (65)', async () => {
      const {b} = await setup()
      const [p] = await b.push('q', [text('x')])
      await expect(b.ack('q', '../../etc/passwd')).rejects.toBeInstanceOf(DataError)
      // A message's id with a token that no engine draws: malformed (65), not "not in flight" (66).
      await expect(b.ack('q', `${p.id}:not-a-token!`)).rejects.toBeInstanceOf(DataError)
    })

    it('accepts a bare message id for the delivery in flight', async () => {
      const {b} = await setup()
      const [p] = await b.push('q', [text('x')])
      await b.claim('q')
      expect(await b.ack('q', p.id)).toBe(p.id)
      await expect(b.ack('q', p.id)).rejects.toBeInstanceOf(NotInFlightError)
    })

    it('redelivers a released message at once, its count raised', async () => {
      const {b} = await setup()
      await b.push('q', [text('x')])
      const d1 = (await b.claim('q'))!
      expect(await b.release('q', d1.receipt)).toMatchObject({id: d1.id, state: 'ready'})
      expect(await b.claim('q')).toMatchObject({attempt: 2, id: d1.id})
    })

    if (caps.delays) it('holds a message released with a delay until then', async () => {
      const {b} = await setup()
      await b.push('q', [text('x')])
      const d1 = (await b.claim('q'))!
      const r = await b.release('q', d1.receipt, {delayMs: 400})
      expect(r.state).toBe('delayed')
      expect(r.notBefore).toBeGreaterThan(Date.now())
      expect(await b.claim('q')).toBeNull()
      await expectStats(b, 'q', {delayed: 1, inflight: 0, ready: 0})
      await sleep(600)
      // A waiting claim: a broker moves a due message on its own time (RabbitMQ's delay queues).
      expect((await b.claim('q', {waitMs: 10_000}))?.id).toBe(d1.id)
    })

    it('an uncounted release leaves the count where it was and never dead-letters', async () => {
      const {b} = await setup()
      await b.setConfig('q', {maxAttempts: 1})
      await b.push('q', [text('x')])
      for (let i = 0; i < 3; i++) {
        const d = (await b.claim('q'))!
        expect(d.attempt).toBe(1)
        expect(await b.release('q', d.receipt, {uncount: true})).toMatchObject({state: 'ready'})
      }
    })

    it('an expired lease brings the message back; the old receipt no longer settles anything', async () => {
      const {b} = await setup()
      await b.push('q', [text('x')])
      const d1 = (await b.claim('q', {leaseMs: 200}))!
      expect(await b.claim('q')).toBeNull()
      await sleep(350)
      const d2 = (await b.claim('q'))!
      expect(d2).toMatchObject({attempt: 2, id: d1.id})
      expect(d2.receipt).not.toBe(d1.receipt)
      await expect(b.ack('q', d1.receipt)).rejects.toThrow(/lease lost/)
      await expect(b.release('q', d1.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      await expect(b.renew('q', d1.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      await expect(b.deadLetter('q', d1.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      expect(await b.ack('q', d2.receipt)).toBe(d1.id)
    })

    if (!quirks.clientBound)
      it('an ack after the lease ran out, before anyone claimed the message again, is accepted', async () => {
        const {b} = await setup()
        await b.push('q', [text('x')])
        const d = (await b.claim('q', {leaseMs: 100}))!
        await sleep(250)
        expect(await b.ack('q', d.receipt)).toBe(d.id)
        expect(await b.claim('q')).toBeNull()
      })
    else
      it('a client-bound lease gives the message back when it runs out: a later ack is "lease lost"', async () => {
        const {b} = await setup()
        await b.push('q', [text('x')])
        const d = (await b.claim('q', {leaseMs: 100}))!
        await sleep(250)
        await expect(b.ack('q', d.receipt)).rejects.toThrow(/lease lost/)
        expect(await b.claim('q')).toMatchObject({attempt: 2, id: d.id})
      })

    it('renewals keep the lease and the receipt: the same receipt settles after many renewals', async () => {
      const {b} = await setup()
      await b.push('q', [text('x')])
      const d = (await b.claim('q', {leaseMs: 400}))!
      for (let i = 0; i < 4; i++) {
        await sleep(150)
        expect(await b.renew('q', d.receipt, 400)).toBe(400) // the lease granted, as a duration
      }
      expect(await b.claim('q')).toBeNull() // 600 ms after the claim: still held
      expect(await b.ack('q', d.receipt)).toBe(d.id)
    })

    if (!quirks.clientBound) it('a renewal made by another client keeps the receipt valid for this one', async () => {
      const {b, store} = await setup()
      await b.push('q', [text('x')])
      const d = (await b.claim('q', {leaseMs: 60_000}))!
      const [granted] = await peer(store, 'renew', 'q', d.receipt, 120_000)
      expect(Number(granted)).toBe(120_000)
      if (caps.inspect) {
        const [held] = await b.peek('q', {limit: 1, state: 'inflight'})
        expect(held.leaseUntil).toBeGreaterThan(Date.now() + 100_000)
      }
      expect(await b.ack('q', d.receipt)).toBe(d.id)
    })

    it('a renewal after the lease was lost and the message claimed again fails', async () => {
      const {b} = await setup()
      await b.push('q', [text('x')])
      const d1 = (await b.claim('q', {leaseMs: 100}))!
      await sleep(250)
      const d2 = (await b.claim('q'))!
      await expect(b.renew('q', d1.receipt, 60_000)).rejects.toBeInstanceOf(NotInFlightError)
      expect(await b.ack('q', d2.receipt)).toBe(d2.id)
    })

    it('dead-letters a delivery on request, keeping why', async () => {
      const {b} = await setup()
      await b.push('q', [text('poison')])
      const d = (await b.claim('q'))!
      await b.deadLetter('q', d.receipt, {exitCode: 100, lastError: 'permanent failure (exit status 100)', stderrTail: 'bad input\n'})
      const [dead] = await b.peek('q', {bodies: true, limit: 10, state: 'dead'})
      expect(dead).toMatchObject({id: d.id, reason: {attempts: 1, exitCode: 100, lastError: 'permanent failure (exit status 100)', reason: 'rejected', stderrTail: 'bad input\n'}})
      expect(dead.body?.toString()).toBe('poison')
      expect(dead.reason!.at).toBeGreaterThan(Date.now() - 60_000)
      await expectStats(b, 'q', {dead: 1, inflight: 0})
    })
  })

  describe(`${engine.name}: the queue's policy`, () => {
    it('a counted release of the last allowed delivery dead-letters the message, with the failure', async () => {
      const {b} = await setup()
      await b.setConfig('q', {maxAttempts: 2})
      await b.push('q', [text('poison')])
      const d1 = (await b.claim('q'))!
      expect((await b.release('q', d1.receipt, {failure: {lastError: 'exit status 1'}})).state).toBe('ready')
      const d2 = (await b.claim('q'))!
      expect(await b.release('q', d2.receipt, {failure: {exitCode: 3, lastError: 'exit status 3'}})).toMatchObject({id: d1.id, state: 'dead'})
      expect(await b.claim('q')).toBeNull()
      const [dead] = await b.peek('q', {limit: 1, state: 'dead'})
      expect(dead.reason).toMatchObject({attempts: 2, exitCode: 3, lastError: 'exit status 3', reason: 'max_attempts'})
    })

    it('a claim dead-letters a message whose last allowed delivery ended without an ack', async () => {
      const {b} = await setup()
      await b.setConfig('q', {maxAttempts: 2})
      await b.push('q', [text('poison')])
      for (let i = 0; i < 2; i++) {
        await b.claim('q', {leaseMs: 50})
        await sleep(150)
      }
      expect(await b.claim('q')).toBeNull()
      await expectStats(b, 'q', {dead: 1, inflight: 0, ready: 0})
      expect((await b.peek('q', {limit: 1, state: 'dead'}))[0].reason).toMatchObject({attempts: 2, reason: 'max_attempts'})
    })

    it('every client of a queue applies the queue’s limit (it is not a claim option)', async () => {
      const {b, store} = await setup()
      await b.setConfig('q', {maxAttempts: 1})
      await b.push('q', [text('x')])
      // Set through b, applied by another client's release.
      const other = await store.open()
      const d = (await other.claim('q'))!
      expect((await other.release('q', d.receipt)).state).toBe('dead')
    })

    it('a claim that names no lease gets the queue’s', async () => {
      const {b} = await setup()
      await b.setConfig('q', {leaseMs: 200})
      await b.push('q', [text('x')])
      const before = Date.now()
      const d = (await b.claim('q'))!
      expect(d.leaseMs).toBe(200)
      expect(d.leaseUntil - before).toBeLessThan(5000)
      expect(await b.renew('q', d.receipt)).toBe(200) // a renewal that names none: the queue's, too
      expect(await b.claim('q')).toBeNull()
      await sleep(350)
      expect((await b.claim('q'))?.attempt).toBe(2)
    })

    it('shows the defaults, changes and removes settings; an unknown queue has no config', async () => {
      const {b} = await setup()
      await expect(b.getConfig('q')).rejects.toBeInstanceOf(NoSuchQueueError)
      if (caps.maxDepth) expect(await b.setConfig('q', {maxDepth: 10})).toEqual({leaseMs: 300_000, maxAttempts: 5, maxDepth: 10})
      else expect(await b.setConfig('q', {maxAttempts: 5})).toEqual({leaseMs: 300_000, maxAttempts: 5})
      expect(await b.exists('q')).toBe(true)
      if (quirks.fixedSettings) {
        // Given when the queue was made: a change is refused, the same settings again are not.
        await expect(b.setConfig('q', {leaseMs: 1000, maxAttempts: 9, maxDepth: null})).rejects.toBeInstanceOf(NotSupportedError)
        expect(await b.setConfig('q', {maxAttempts: 5})).toEqual({leaseMs: 300_000, maxAttempts: 5, maxDepth: 10})
        expect(await b.getConfig('q')).toEqual({leaseMs: 300_000, maxAttempts: 5, maxDepth: 10})
        await b.drop('q')
        expect(await b.setConfig('q', {leaseMs: 1000, maxAttempts: 9})).toEqual({leaseMs: 1000, maxAttempts: 9})
        return
      }
      expect(await b.setConfig('q', {leaseMs: 1000, maxAttempts: 9, maxDepth: null})).toEqual({leaseMs: 1000, maxAttempts: 9})
      expect(await b.getConfig('q')).toEqual({leaseMs: 1000, maxAttempts: 9})
    })
  })

  describe(`${engine.name}: waiting`, () => {
    it('a waiting claim gets a message pushed by another client meanwhile', async () => {
      const {b, store} = await setup()
      await b.push('w', [text('first')])
      await b.claim('w')
      const waiting = b.claim('w', {waitMs: 20_000})
      await sleep(300)
      const [id] = await peer(store, 'push', 'w', 1, 'late')
      const d = await waiting
      expect(d).toMatchObject({id})
      expect(d!.body.toString()).toBe('late0')
    })

    it('a claim waiting in another client is woken by a push here', async () => {
      const {b, store} = await setup()
      await b.push('w', [text('seed')])
      await b.ack('w', (await b.claim('w'))!.receipt)
      const waiting = peer(store, 'claim-wait', 'w', 20_000)
      await sleep(store.url ? 800 : 100) // the peer is waiting by then
      const [p] = await b.push('w', [text('wake')])
      expect(await waiting).toEqual([`got ${p.id} wake`])
    })

    it('gives up when the wait runs out, or when aborted', async () => {
      const {b} = await setup()
      expect(await b.claim('w', {waitMs: 300})).toBeNull()
      const ac = new AbortController()
      setTimeout(() => ac.abort(), 200)
      expect(await b.claim('w', {signal: ac.signal, waitMs: 30_000})).toBeNull()
    })

    if (caps.delays) it('a waiting claim gets a message whose delay ends meanwhile', async () => {
      const {b} = await setup()
      await b.push('w', [{...text('later'), notBefore: Date.now() + 400}])
      expect((await b.claim('w', {waitMs: 10_000}))?.body.toString()).toBe('later')
    })
  })

  // The driver under the queue layer (src/backend.ts ClaimDriver), River-style: what the one
  // claim-and-wait loop relies on, asked of the engine directly.
  describe(`${engine.name}: the driver`, () => {
    const driverOf = (b: Backend) => {
      const d = (b as Queue).engine as unknown as ClaimDriver
      expect(typeof d.tryClaim).toBe('function')
      expect(typeof d.watch).toBe('function')
      return d
    }
    it('tryClaim answers at once: empty on an empty or unknown queue, a delivery with the lease it was given', async () => {
      const {b} = await setup()
      const d = driverOf(b)
      expect(await d.tryClaim('nothing-here')).toEqual({empty: true})
      await b.push('q', [text('x')])
      const got = await d.tryClaim('q', 7000)
      expect(got).toMatchObject({delivery: {attempt: 1, leaseMs: 7000}})
      expect(await d.tryClaim('q')).toMatchObject({empty: true}) // in flight: nothing to claim
    })
    if (caps.pause)
      it('tryClaim on a paused queue says paused, and claims nothing', async () => {
        const {b} = await setup()
        await b.push('q', [text('x')])
        await b.pause('q')
        expect(await driverOf(b).tryClaim('q')).toEqual({paused: true})
        await expectStats(b, 'q', {inflight: 0, ready: 1})
      })
    if (caps.delays)
      it('tryClaim with only a delayed message says how long until it is due, as a duration', async () => {
        const {b} = await setup()
        await b.push('q', [{...text('later'), notBefore: Date.now() + 60_000}])
        const r = await driverOf(b).tryClaim('q')
        expect(r).toMatchObject({empty: true})
        const due = (r as {nextDueInMs?: number}).nextDueInMs
        if (due !== undefined) expect(due).toBeGreaterThan(0) // engines that know it say it; the spool's watches know it themselves
        if (due !== undefined) expect(due).toBeLessThanOrEqual(60_000)
      })
    if (caps.blockingWait) it('a wake-up is armed when watch() returns: a push between it and the wait is not lost', async () => {
      const {b, store} = await setup()
      const d = driverOf(b)
      const wakeup = await d.watch('w')
      try {
        await peer(store, 'push', 'w', 1, 'between')
        await wakeup.wait(3_600_000) // only the push can end it before the watchdog (the spool's own poll aside)
      } finally {
        wakeup.close()
      }
      expect(await d.tryClaim('w')).toMatchObject({delivery: {attempt: 1}})
    })
  })

  describe(`${engine.name}: capabilities`, () => {
    capability('blockingWait', () => {
      it('a waiting claim is woken by a push from another client, not found by polling', async () => {
        const {b, store} = await setup()
        // The loop's safety net (a look every 5 s) taken away: only the engine's wake-up can
        // end this wait before the test's watchdog. No time is measured.
        const driver = (b as Queue).engine as unknown as ClaimDriver
        expect(typeof driver.tryClaim).toBe('function')
        const waiting = claimWithWait(driver, 'w', {waitMs: 3_600_000}, {maxBlockMs: 3_600_000})
        await sleep(300) // let it block first (else the push is found by its first look)
        const [id] = await peer(store, 'push', 'w', 1, 'woken')
        const d = await waiting
        expect(d).toMatchObject({id})
        expect(d?.body.toString()).toBe('woken0')
      })
    })

    capability(
      'priorities',
      () => {
        it('delivers higher priorities first, FIFO within one', async () => {
          const {b} = await setup()
          await b.push('q', [text('low1')])
          await b.push('q', [{...text('high1'), priority: 9}])
          await b.push('q', [{...text('mid'), priority: 5}])
          await b.push('q', [{...text('high2'), priority: 9}, text('low2')])
          const got: string[] = []
          for (let d = await b.claim('q'); d; d = await b.claim('q')) got.push(d.body.toString())
          expect(got).toEqual(['high1', 'high2', 'mid', 'low1', 'low2'])
        })
        it('a released message keeps its priority', async () => {
          const {b} = await setup()
          await b.push('q', [{...text('urgent'), priority: 7}])
          const d = (await b.claim('q'))!
          await b.release('q', d.receipt, {delayMs: 50})
          await b.push('q', [text('plain')])
          await sleep(200)
          expect(await b.claim('q')).toMatchObject({id: d.id, priority: 7})
        })
      },
      async () => {
        const {b} = await setup()
        await expect(b.push('q', [{...text('x'), priority: 5}])).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    capability(
      'delays',
      () => {
        it('a message with a not-before time waits, counted as delayed, then is delivered', async () => {
          const {b} = await setup()
          const [p] = await b.push('q', [{...text('later'), notBefore: Date.now() + 400}])
          expect(p.state).toBe('delayed')
          expect(await b.claim('q')).toBeNull()
          await expectStats(b, 'q', {delayed: 1, ready: 0})
          if (caps.inspect) expect((await b.peek('q', {limit: 5, state: 'delayed'}))[0]).toMatchObject({id: p.id, state: 'delayed'})
          await sleep(600)
          expect((await b.claim('q', {waitMs: 10_000}))?.id).toBe(p.id)
        })
        it('a not-before time in the past is ready at once', async () => {
          const {b} = await setup()
          const [p] = await b.push('q', [{...text('now'), notBefore: Date.now() - 1000}])
          expect(p.state).toBe('ready')
          expect((await b.claim('q'))?.id).toBe(p.id)
        })
        if (caps.inspect) it('peek lists delayed messages by due time', async () => {
          const {b} = await setup()
          const now = Date.now()
          await b.push('q', [{...text('b'), notBefore: now + 50_000}])
          await b.push('q', [{...text('a'), notBefore: now + 40_000}])
          expect(bodies(await b.peek('q', {bodies: true, limit: 5, state: 'delayed'}))).toEqual(['a', 'b'])
        })
      },
      async () => {
        const {b} = await setup()
        await expect(b.push('q', [{...text('x'), notBefore: Date.now() + 60_000}])).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    capability(
      'keys',
      () => {
        it('a second push with the same key makes no message and names the first', async () => {
          const {b} = await setup()
          const [first] = await b.push('q', [{...text('a'), key: 'order-7'}])
          const [again] = await b.push('q', [{...text('b'), key: 'order-7'}])
          expect(again).toMatchObject({duplicate: true, id: first.id})
          expect((await b.stats('q'))[0].ready).toBe(1)
        })
        it('the key travels with the message, across retries', async () => {
          const {b} = await setup()
          await b.push('q', [{...text('a'), key: 'k1'}])
          const d1 = (await b.claim('q'))!
          expect(d1.key).toBe('k1')
          await b.release('q', d1.receipt)
          expect((await b.claim('q'))!.key).toBe('k1')
          expect((await b.push('q', [{...text('b'), key: 'k1'}]))[0].duplicate).toBe(true)
        })
        it('a key holds for its time, then a push with it makes a new message', async () => {
          const {b} = await setup()
          const [first] = await b.push('q', [{...text('a'), key: 'k'}], {keyTtlMs: 300})
          await sleep(500)
          const [again] = await b.push('q', [{...text('b'), key: 'k'}])
          expect(again.duplicate).toBeFalsy()
          expect(again.id).not.toBe(first.id)
        })
        it('keys of different queues are independent', async () => {
          const {b} = await setup()
          await b.push('a', [{...text('x'), key: 'k'}])
          expect((await b.push('b', [{...text('x'), key: 'k'}]))[0].duplicate).toBeFalsy()
        })
        it('a key applies to one message: a batch with a key is a usage error', async () => {
          const {b} = await setup()
          await expect(b.push('q', [{...text('a'), key: 'k'}, {...text('b'), key: 'k'}])).rejects.toBeInstanceOf(UsageError)
        })
        it('of several clients pushing one key at once, exactly one makes a message', async () => {
          const {b, store} = await setup()
          await b.push('q', [text('warm-up')])
          const at = Date.now() + (store.url ? 1500 : 100)
          const results = (await Promise.all(Array.from({length: 6}, (_, i) => peer(store, 'push-key-at', 'q', 'nightly', at, `try ${i}`)))).flat()
          expect(results.filter((r) => r.startsWith('new '))).toHaveLength(1)
          expect(new Set(results.map((r) => r.split(' ')[1])).size).toBe(1) // every loser names the winner
          expect((await b.stats('q'))[0].ready).toBe(2)
        })
      },
      async () => {
        const {b} = await setup()
        await expect(b.push('q', [{...text('x'), key: 'k'}])).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    capability(
      'expiry',
      () => {
        it('a message past its expiry is dead-lettered (reason expired), never delivered late', async () => {
          const {b} = await setup()
          const [p] = await b.push('q', [{...text('stale'), expiresAt: Date.now() + 150}])
          await b.push('q', [text('fresh')])
          await sleep(300)
          expect((await b.claim('q'))!.body.toString()).toBe('fresh')
          const [dead] = await eventually(() => b.peek('q', {limit: 5, state: 'dead'}), (l) => l.length > 0)
          expect(dead).toMatchObject({id: p.id, reason: {reason: 'expired'}})
        })
        it('a requeued message whose expiry passed comes back without it (it would only die again)', async () => {
          const {b} = await setup()
          const [p] = await b.push('q', [{...text('late'), expiresAt: Date.now() + 100}])
          await sleep(250)
          expect(await b.claim('q')).toBeNull() // dead-lettered: expired
          await eventually(() => b.peek('q', {limit: 5, state: 'dead'}), (l) => l.length > 0)
          expect(await b.requeue('q')).toEqual({expiryCleared: [p.id], requeued: [p.id]})
          const d = (await b.claim('q'))!
          expect(d).toMatchObject({attempt: 1, id: p.id})
          expect(d.expiresAt).toBeUndefined()
          expect(d.body.toString()).toBe('late')
        })
        it('a message within its expiry is delivered with it', async () => {
          const {b} = await setup()
          const expiresAt = Date.now() + 60_000
          await b.push('q', [{...text('x'), expiresAt}])
          // Server engines keep time by the server's clock: the caller's instant is sent as an
          // interval and comes back on the server's clock (here the same machine's, give or take
          // the time the push took).
          const got = (await b.claim('q'))!.expiresAt!
          expect(Math.abs(got - expiresAt)).toBeLessThan(1000)
        })
      },
      async () => {
        const {b} = await setup()
        await expect(b.push('q', [{...text('x'), expiresAt: Date.now() + 60_000}])).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    capability(
      'maxDepth',
      () => {
        it('a bounded queue refuses what would pass its bound, writing nothing', async () => {
          const {b} = await setup()
          await b.setConfig('q', {maxDepth: 3})
          await b.push('q', ['1', '2'].map(text))
          await expect(b.push('q', ['3', '4'].map(text))).rejects.toBeInstanceOf(QueueFullError)
          await b.push('q', [text('3')])
          await expect(b.push('q', [text('4')])).rejects.toMatchObject({exitCode: 75})
          expect((await b.stats('q'))[0].ready).toBe(3)
        })
        if (quirks.boundCountsReadyOnly) {
          it('the bound counts ready messages only: one in flight leaves room', async () => {
            const {b} = await setup()
            await b.setConfig('q', {maxDepth: 2})
            await b.push('q', ['1', '2'].map(text))
            await expect(b.push('q', [text('3')])).rejects.toBeInstanceOf(QueueFullError)
            await expect(b.push('q', ['3', '4'].map(text))).rejects.toBeInstanceOf(QueueFullError)
            const d1 = (await b.claim('q'))!
            await b.push('q', [text('3')]) // d1 is in flight: not counted
            await expect(b.push('q', [text('4')])).rejects.toBeInstanceOf(QueueFullError)
            await b.ack('q', d1.receipt)
            expect(await readyBodies(b, 'q')).toEqual(['2', '3'])
          })
          it('the bound does not count delayed messages: they join the queue when due, over it if need be', async () => {
            const {b} = await setup()
            await b.setConfig('q', {maxDepth: 1})
            await b.push('q', [{...text('later'), notBefore: Date.now() + 300}])
            await b.push('q', [text('now')])
            await expect(b.push('q', [text('more')])).rejects.toBeInstanceOf(QueueFullError)
            await eventually(async () => (await b.stats('q'))[0].ready, (n) => n === 2)
            expect(await readyBodies(b, 'q')).toEqual(['now', 'later'])
          })
        }
        if (!quirks.boundCountsReadyOnly) it('messages in flight count toward the bound until they are settled', async () => {
          const {b} = await setup()
          await b.setConfig('q', {maxDepth: 2})
          await b.push('q', ['1', '2'].map(text))
          const d1 = (await b.claim('q'))!
          const d2 = (await b.claim('q'))!
          await expectStats(b, 'q', {inflight: 2, ready: 0})
          await expect(b.push('q', [text('3')])).rejects.toBeInstanceOf(QueueFullError)
          await b.release('q', d2.receipt)
          await expect(b.push('q', [text('3')])).rejects.toBeInstanceOf(QueueFullError) // back to ready: still counted
          await b.ack('q', d1.receipt)
          await b.push('q', [text('3')])
          await expect(b.push('q', [text('4')])).rejects.toBeInstanceOf(QueueFullError)
        })
        if (!quirks.boundCountsReadyOnly) it('the bound counts delayed and in-flight messages; a push can wait for room', async () => {
          const {b, store} = await setup()
          await b.setConfig('q', {maxDepth: 2})
          await b.push('q', [text('1'), {...text('later'), notBefore: Date.now() + 60_000}])
          await expect(b.push('q', [text('2')])).rejects.toBeInstanceOf(QueueFullError)
          // A streamed body, as stdin gives it: tried again after the first refusal, it still arrives whole.
          const streamed = (async function* () {
            yield Buffer.from('streamed ')
            yield Buffer.from('body')
          })()
          const pushing = b.push('q', [{body: streamed}], {waitMs: 20_000})
          await sleep(200)
          expect(await peer(store, 'ack-one', 'q')).toEqual([expect.stringMatching(/^acked /)])
          const [p] = await pushing
          expect(p.state).toBe('ready')
          expect(await readyBodies(b, 'q')).toContain('streamed body')
          await b.setConfig('q', {maxDepth: null})
          await b.push('q', ['3', '4', '5'].map(text))
        })
      },
      async () => {
        const {b} = await setup()
        await expect(b.setConfig('q', {maxDepth: 5})).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    capability(
      'pause',
      () => {
        it('a paused queue takes pushes but yields no claims until resumed', async () => {
          const {b} = await setup()
          await b.push('q', [text('x')])
          await b.pause('q')
          expect((await b.stats('q'))[0].paused).toBe(true)
          await expect(b.claim('q')).rejects.toBeInstanceOf(QueuePausedError)
          await b.push('q', [text('y')])
          const waiting = b.claim('q', {waitMs: 20_000})
          await sleep(300)
          expect(await b.resume('q')).toBe(true)
          expect((await waiting)?.body.toString()).toBe('x')
          expect(await b.resume('q')).toBe(false)
        })
        it('pause and resume act on every client of the queue', async () => {
          const {b, store} = await setup()
          await b.push('q', [text('x')])
          const other = await store.open()
          await other.pause('q')
          await expect(b.claim('q')).rejects.toBeInstanceOf(QueuePausedError)
          await other.resume('q')
          expect(await b.claim('q')).not.toBeNull()
          await other.close()
        })
      },
      async () => {
        const {b} = await setup()
        await b.push('q', [text('x')])
        await expect(b.pause('q')).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    capability(
      'topics',
      () => {
        it('a push to a topic reaches every subscriber, where each copy lives on its own', async () => {
          const {b} = await setup()
          // An engine that cannot list bindings cannot tell whether one was there (undefined).
          const said = (v: boolean) => (caps.listing ? v : undefined)
          expect(await b.subscribe('orders', 'billing')).toBe(said(true))
          expect(await b.subscribe('orders', 'shipping')).toBe(said(true))
          expect(await b.subscribe('orders', 'shipping')).toBe(said(false))
          const [p] = await b.push('orders', [text('order 1')])
          const bill = (await b.claim('billing'))!
          const ship = (await b.claim('shipping'))!
          expect(bill).toMatchObject({id: p.id, topic: 'orders'})
          expect(ship).toMatchObject({id: p.id, topic: 'orders'})
          await b.ack('billing', bill.receipt)
          await b.release('shipping', ship.receipt)
          await expectStats(b, 'billing', {done: 1, inflight: 0})
          await expectStats(b, 'shipping', {inflight: 0, ready: 1})
          expect(await b.subscribers('billing')).toBeUndefined()
          if (caps.listing) {
            expect(await b.subscribers('orders')).toEqual(['billing', 'shipping'])
            expect(await b.topics()).toEqual(['orders'])
          } else {
            await expect(b.subscribers('orders')).rejects.toBeInstanceOf(NotSupportedError)
            await expect(b.topics()).rejects.toBeInstanceOf(NotSupportedError)
          }
        })
        it('a queue subscribed later gets only later messages; one unsubscribed no more', async () => {
          const {b} = await setup()
          await b.subscribe('t', 'a')
          await b.push('t', [text('1')])
          await b.subscribe('t', 'b')
          await b.push('t', [text('2')])
          await b.unsubscribe('t', 'a')
          await b.push('t', [text('3')])
          expect(await readyBodies(b, 'a')).toEqual(['1', '2'])
          expect(await readyBodies(b, 'b')).toEqual(['2', '3'])
        })
        it('a topic whose last subscriber left refuses pushes, writing nothing', async () => {
          const {b} = await setup()
          await b.subscribe('t', 'a')
          await b.unsubscribe('t', 'a')
          await expect(b.push('t', [text('x')])).rejects.toBeInstanceOf(NoSubscribersError)
          expect((await b.stats('a'))[0].ready).toBe(0)
          expect(await b.exists('t')).toBe(false)
          if (caps.listing) {
            expect((await b.stats()).map((s) => s.queue)).toEqual(['a'])
            await expect(b.unsubscribe('t', 'a')).rejects.toBeInstanceOf(NotSubscribedError)
          }
        })
        it('a keyed push to a topic makes one message for every subscriber', async () => {
          const {b} = await setup()
          if (!caps.keys) return
          await b.subscribe('t', 'a')
          await b.subscribe('t', 'b')
          const [p] = await b.push('t', [{...text('x'), key: 'k'}])
          expect((await b.push('t', [{...text('y'), key: 'k'}]))[0]).toMatchObject({duplicate: true, id: p.id})
          expect((await b.stats()).map((s) => [s.queue, s.ready])).toEqual([['a', 1], ['b', 1]])
        })
      },
      async () => {
        const {b} = await setup()
        await expect(b.subscribe('t', 'q')).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    capability(
      'keepsDone',
      () => {
        it('acked messages are kept until gc removes them', async () => {
          const {b} = await setup()
          await b.push('q', ['a', 'b'].map(text))
          for (let d = await b.claim('q'); d; d = await b.claim('q')) await b.ack('q', d.receipt)
          expect(bodies(await b.peek('q', {bodies: true, limit: 5, state: 'done'}))).toEqual(['a', 'b'])
          expect(await b.gc('q', {doneOlderThanMs: 3_600_000, tmpOlderThanMs: 3_600_000})).toMatchObject({done: 0})
          expect(await b.gc('q', {doneOlderThanMs: 0, tmpOlderThanMs: 3_600_000})).toMatchObject({done: 2})
          expect((await b.stats('q'))[0].done).toBe(0)
        })
      },
      async () => {
        const {b} = await setup()
        await b.push('q', [text('x')])
        await expect(b.peek('q', {limit: 5, state: 'done'})).rejects.toBeInstanceOf(NotSupportedError)
      },
    )

    if (!caps.sharedMessages && engine.cliUrl) {
      it('a command line is not supported: every command is a process of its own', async () => {
        const url = engine.cliUrl!
        const r = await run(process.execPath, [BIN, 'push', 'q', 'x', '--url', url])
        expect(r.code).toBe(78)
        expect(r.stderr).toMatch(/not supported by the \w+ engine\n$/)
        expect(r.stderr.trim().split('\n')).toHaveLength(1)
      })
    }
  })

  describe(`${engine.name}: inspection`, () => {
    capability('inspect', () => {}, async () => {
      const {b} = await setup()
      const [p] = await b.push('q', [text('x')])
      for (const state of ['ready', 'inflight', 'delayed'] as const) await expect(b.peek('q', {limit: 1, state})).rejects.toBeInstanceOf(NotSupportedError)
      await expect(b.show('q', p.id)).rejects.toBeInstanceOf(NotSupportedError)
      await expect(b.fates('q', [p.id])).rejects.toBeInstanceOf(NotSupportedError)
      await expect(b.cancel('q', [p.id])).rejects.toBeInstanceOf(NotSupportedError)
      expect(await b.peek('q', {limit: 1, state: 'dead'})).toEqual([]) // dead letters, every engine shows
      expect((await b.claim('q'))?.id).toBe(p.id) // nothing disturbed
    })

    capability('listing', () => {}, async () => {
      const {b} = await setup()
      await b.push('q', [text('x')])
      await expect(b.stats()).rejects.toBeInstanceOf(NotSupportedError)
      if (caps.topics) await expect(b.topics()).rejects.toBeInstanceOf(NotSupportedError)
      expect((await b.stats('q'))[0].ready).toBe(1)
    })

    if (caps.inspect) it('peeks in delivery order without claiming, and counts every state', async () => {
      const {b} = await setup()
      await b.push('q', ['a', 'b', 'c'].map(text))
      if (caps.delays) await b.push('q', [{...text('later'), notBefore: Date.now() + 60_000}])
      const ready = await b.peek('q', {bodies: true, limit: 2, state: 'ready'})
      expect(bodies(ready)).toEqual(['a', 'b'])
      expect(ready[0]).toMatchObject({attempt: 0, size: 1, state: 'ready'})
      const d = (await b.claim('q'))!
      const [inflight] = await b.peek('q', {limit: 5, state: 'inflight'})
      expect(inflight).toMatchObject({attempt: 1, id: d.id, state: 'inflight'})
      expect(inflight.leaseUntil).toBeGreaterThan(Date.now())
      expect(inflight.body).toBeUndefined()
      const [s] = await b.stats('q')
      expect(s).toMatchObject({dead: 0, delayed: caps.delays ? 1 : 0, done: 0, inflight: 1, paused: false, queue: 'q', ready: 2})
      expect(s.oldestReadyAgeMs).toBeGreaterThanOrEqual(0)
      expect((await b.stats()).map((x) => x.queue)).toEqual(['q'])
    })

    it('oldestReadyAgeMs is null when nothing is ready', async () => {
      const {b} = await setup()
      await b.push('q', [text('x')])
      await b.claim('q')
      expect((await b.stats('q'))[0].oldestReadyAgeMs).toBeNull()
    })

    it('inspecting or administering a queue that does not exist is NoSuchQueueError, and creates nothing', async () => {
      const {b} = await setup()
      await b.push('real', [text('x')])
      for (const op of [
        () => b.stats('nosuch'),
        () => b.peek('nosuch', {limit: 1, state: caps.inspect ? 'ready' : 'dead'}),
        () => b.purge('nosuch', ['ready']),
        () => b.requeue('nosuch'),
        () => b.gc('nosuch', {doneOlderThanMs: 0, tmpOlderThanMs: 0}),
        () => (caps.pause ? b.pause('nosuch') : b.stats('nosuch')),
        () => (caps.pause ? b.resume('nosuch') : b.stats('nosuch')),
        () => b.getConfig('nosuch'),
      ]) {
        await expect(op()).rejects.toBeInstanceOf(NoSuchQueueError)
      }
      expect(await b.exists('nosuch')).toBe(false)
      if (caps.listing) expect((await b.stats()).map((s) => s.queue)).toEqual(['real'])
    })
  })

  describe(`${engine.name}: administration`, () => {
    it('purge empties the states asked for, never what is in flight', async () => {
      const {b} = await setup()
      await b.push('q', ['a', 'b', 'c', 'd'].map(text))
      if (caps.delays) await b.push('q', [{...text('later'), notBefore: Date.now() + 60_000}])
      const d1 = (await b.claim('q'))!
      await b.deadLetter('q', d1.receipt)
      const d2 = (await b.claim('q'))!
      await b.ack('q', d2.receipt)
      await b.claim('q') // stays in flight
      // Delayed messages an engine cannot reach (RabbitMQ's delay queues) are refused by name, before anything goes.
      const reachable = (await b.stats('q'))[0].delayed !== null
      if (!reachable) await expect(b.purge('q', ['ready', 'delayed', 'dead', 'done'])).rejects.toBeInstanceOf(NotSupportedError)
      const counts = await b.purge('q', reachable ? ['ready', 'delayed', 'dead', 'done'] : ['ready', 'dead', 'done'])
      expect(counts).toEqual({dead: 1, delayed: caps.delays && reachable ? 1 : 0, done: caps.keepsDone ? 1 : counts.done, ready: 1})
      await expectStats(b, 'q', {dead: 0, delayed: 0, done: 0, inflight: 1, ready: 0})
    })

    it('requeue moves dead letters back to ready, their count reset, all or by id', async () => {
      const {b} = await setup()
      await b.push('q', ['a', 'b'].map(text))
      const da = (await b.claim('q'))!
      await b.deadLetter('q', da.receipt)
      const db = (await b.claim('q'))!
      await b.deadLetter('q', db.receipt)
      expect(await b.requeue('q', [db.id])).toEqual({expiryCleared: [], requeued: [db.id]})
      expect((await b.requeue('q', ['0000000000000000-0000000000000000'])).requeued).toEqual([])
      expect((await b.claim('q'))).toMatchObject({attempt: 1, id: db.id})
      expect((await b.requeue('q')).requeued).toEqual([da.id])
      expect((await b.peek('q', {limit: 5, state: 'dead'}))).toEqual([])
    })

    it('gc releases expired keys', async () => {
      const {b} = await setup()
      if (!caps.keys) return
      await b.push('q', [{...text('a'), key: 'k'}], {keyTtlMs: 100})
      await sleep(250)
      expect((await b.gc('q', {doneOlderThanMs: 3_600_000, tmpOlderThanMs: 3_600_000})).keys).toBe(1)
    })
  })

  describe(`${engine.name}: a worker's loop`, () => {
    it('ackAndClaim acks and hands over the next message; a stale receipt claims nothing; an empty or paused queue gives none', async () => {
      const {b} = await setup()
      const pushed = await b.push('q', ['a', 'b', 'c'].map(text))
      const d1 = (await b.claim('q'))!
      const r1 = await b.ackAndClaim('q', d1.receipt)
      expect(r1.id).toBe(d1.id)
      expect(r1.next).toMatchObject({attempt: 1, id: pushed[1].id})
      expect(r1.next!.body.toString()).toBe('b')
      await expect(b.ackAndClaim('q', d1.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      await expectStats(b, 'q', {inflight: 1, ready: 1}) // the stale one claimed nothing
      const r2 = await b.ackAndClaim('q', r1.next!.receipt, {leaseMs: 60_000})
      expect(r2.next?.id).toBe(pushed[2].id)
      expect(r2.next?.leaseMs).toBe(60_000)
      if (caps.pause) {
        await b.push('q', [text('d')])
        await b.pause('q')
        expect((await b.ackAndClaim('q', r2.next!.receipt)).next).toBeNull()
        await b.resume('q')
        const r3 = (await b.claim('q'))!
        expect((await b.ackAndClaim('q', r3.receipt)).next).toBeNull()
      } else expect((await b.ackAndClaim('q', r2.next!.receipt)).next).toBeNull()
      await expectStats(b, 'q', {inflight: 0, ready: 0})
    })
  })

  describe(`${engine.name}: the worker (mq consume's loop)`, () => {
    // Where the engine's ack brings the next message (ackClaimsInOne: Redis, PostgreSQL), a
    // finished handler's slot passes its next message on: the bound on handlers at once and
    // --max-messages must hold as on the others, and every message is handled once.
    it('-j 3: every message handled once, never more than 3 handlers at once; --max-messages 5 takes 5', async () => {
      const {b} = await setup()
      const dir = mkdtempSync(join(tmpdir(), 'mq-worker-'))
      try {
        const log = join(dir, 'log')
        const script = 'echo "s $MQ_ID" >> "$LOG"; sleep 0.1; echo "e $MQ_ID" >> "$LOG"'
        const opts = {argv: ['sh', '-c', script], backoffMs: 100, concurrency: 3, drain: true, env: {...process.env, LOG: log}, graceMs: 1000, killAfterMs: 1000, maxBackoffMs: 100, output: 'stderr' as const, queue: 'q'}
        const pushed = await b.push('q', Array.from({length: 14}, (_, i) => text(`m${i}`)))
        const first = await new Consumer(b, {...opts, drain: false, maxMessages: 5}).run()
        expect(first).toMatchObject({acked: 5, processed: 5})
        const rest = await new Consumer(b, opts).run()
        expect(rest).toMatchObject({acked: 9, failed: 0, processed: 9})
        const lines = readFileSync(log, 'utf8').trim().split('\n')
        let running = 0
        let most = 0
        for (const l of lines) {
          running += l.startsWith('s ') ? 1 : -1
          most = Math.max(most, running)
        }
        expect(most).toBeLessThanOrEqual(3)
        const started = lines.filter((l) => l.startsWith('s ')).map((l) => l.slice(2))
        expect(started.sort()).toEqual(pushed.map((p) => p.id).sort())
        await expectStats(b, 'q', {inflight: 0, ready: 0})
      } finally {
        rmSync(dir, {force: true, recursive: true})
      }
    })
  })

  describe(`${engine.name}: the worker stopping`, () => {
    // RACE: stop() arrives while a finished handler's ack is on its way. Where that ack brings
    // the next message (ackClaimsInOne), the worker must give it back, uncounted, not run it.
    it('told to stop as its ack goes out, the worker takes no more: a message that ack brought is given back uncounted', async () => {
      const {b} = await setup()
      const pushed = await b.push('q', [text('a'), text('b')])
      let consumer: Consumer | undefined
      const stopFirst = new Proxy(b, {
        get(target, prop, receiver) {
          // No hint: an engine that sends messages ahead of claims (RabbitMQ's prefetch) holds
          // what it sent until its channel closes, which is not this race; claims it makes.
          if (prop === 'hint') return undefined
          const v = Reflect.get(target, prop, receiver) as unknown
          if (typeof v !== 'function') return v
          if (prop !== 'ack' && prop !== 'ackAndClaim') return v.bind(target)
          return (...args: unknown[]) => {
            consumer!.stop()
            return v.apply(target, args)
          }
        },
      })
      consumer = new Consumer(stopFirst, {argv: ['true'], backoffMs: 100, concurrency: 1, env: process.env, graceMs: 5000, killAfterMs: 1000, maxBackoffMs: 100, output: 'stderr', queue: 'q'})
      expect(await consumer.run()).toMatchObject({acked: 1, processed: 1})
      await expectStats(b, 'q', {inflight: 0, ready: 1})
      expect(await b.claim('q')).toMatchObject({attempt: 1, id: pushed[1].id})
    })
  })

  describe(`${engine.name}: one message, and dropping a queue`, () => {
    if (caps.inspect) it('show finds a message by id in every state it passes through, with its facts; an unknown id is nothing', async () => {
      const {b} = await setup()
      const [p] = await b.push('q', [{...text('hello'), headers: {who: 'me'}}])
      expect(await b.show('q', p.id)).toMatchObject({attempt: 0, headers: {who: 'me'}, id: p.id, size: 5, state: 'ready'})
      expect((await b.show('q', p.id))?.body).toBeUndefined()
      expect((await b.show('q', p.id, {body: true}))?.body?.toString()).toBe('hello')
      const d = (await b.claim('q'))!
      const inflight = (await b.show('q', p.id))!
      expect(inflight).toMatchObject({attempt: 1, state: 'inflight'})
      expect(inflight.leaseUntil).toBeGreaterThan(Date.now())
      const failure = {exitCode: 3, lastError: 'exit status 3', stderrTail: 'it broke\n'}
      if (caps.delays) {
        await b.release('q', d.receipt, {delayMs: 60_000, failure})
        expect((await b.show('q', p.id))?.notBefore).toBeGreaterThan(Date.now())
        expect(await b.show('q', p.id)).toMatchObject({state: 'delayed'})
      } else await b.release('q', d.receipt, {failure})
      // Waiting to be tried again: why its last delivery failed, and when.
      const retrying = (await b.show('q', p.id))!
      expect(retrying.lastFailure).toMatchObject(failure)
      expect(Math.abs(retrying.lastFailure!.at - Date.now())).toBeLessThan(60_000)
      expect(await b.fates('q', [p.id])).toEqual(['pending'])
      const [p2] = await b.push('q', [text('doomed')])
      await b.cancel('q', [p.id]) // out of the way: p2 is next
      const d2 = (await b.claim('q'))!
      expect(d2.id).toBe(p2.id)
      await b.deadLetter('q', d2.receipt, {exitCode: 2, lastError: 'exit status 2', stderrTail: 'boom'})
      expect(await b.show('q', p2.id)).toMatchObject({reason: {exitCode: 2, reason: 'rejected', stderrTail: 'boom'}, state: 'dead'})
      const [p3] = await b.push('q', [text('fine')])
      await b.ack('q', (await b.claim('q'))!.receipt)
      if (caps.keepsDone) expect(await b.show('q', p3.id)).toMatchObject({state: 'done'})
      else expect([undefined, 'done']).toContain((await b.show('q', p3.id))?.state) // an engine that deletes acked messages has nothing to show
      expect(await b.fates('q', [p3.id, p2.id, p.id, '0000000000000000-0000000000000000'])).toEqual(['done', 'dead', 'unknown', 'unknown'])
      expect(await b.show('q', '0000000000000000-0000000000000000')).toBeUndefined()
      await expect(b.show('q', 'not-an-id')).rejects.toBeInstanceOf(DataError)
      await expect(b.show('nosuch', p.id)).rejects.toBeInstanceOf(NoSuchQueueError)
    })

    if (caps.inspect) it('cancel removes what is ready or delayed, refuses what is in flight, dead or done, and says which ids it does not know', async () => {
      const {b} = await setup()
      const [a, c, dead] = await b.push('q', ['a', 'c', 'dead'].map(text))
      const later = caps.delays ? (await b.push('q', [{...text('later'), notBefore: Date.now() + 60_000}]))[0] : undefined
      // a is claimed and left in flight; c is cancelled while ready; dead is dead-lettered.
      const da = (await b.claim('q'))!
      expect(da.id).toBe(a.id)
      await b.cancel('q', [c.id]).then((r) => expect(r).toEqual({cancelled: [c.id], refused: [], unknown: []}))
      const dd = (await b.claim('q'))!
      expect(dd.id).toBe(dead.id)
      await b.deadLetter('q', dd.receipt)
      const unknown = '0000000000000000-0000000000000000'
      const r = await b.cancel('q', [a.id, dead.id, unknown, ...(later ? [later.id] : [])])
      expect(r).toEqual({cancelled: later ? [later.id] : [], refused: [{id: a.id, state: 'inflight'}, {id: dead.id, state: 'dead'}], unknown: [unknown]})
      await expectStats(b, 'q', {delayed: 0, dead: 1, inflight: 1, ready: 0})
      expect(await b.claim('q')).toBeNull()
    })

    if (caps.inspect) it('a cancel racing with claims: every message is either delivered or cancelled, once', async () => {
      const {b, store} = await setup()
      const ids = (await b.push('q', Array.from({length: 200}, (_, i) => text(`m${i}`)))).map((p) => p.id)
      const consumer = peer(store, 'drain', 'q', 800)
      await sleep(store.url ? 400 : 5)
      const other = await store.open()
      const {cancelled, refused, unknown} = await other.cancel('q', ids)
      const acked = (await consumer).map((l) => l.split(' ')[0])
      expect(unknown.length + refused.length + cancelled.length).toBe(200)
      expect(new Set([...acked, ...cancelled]).size).toBe(acked.length + cancelled.length)
      expect(acked.length + cancelled.length).toBe(200)
    })

    it('drop deletes the queue and everything in it; a push after it starts an empty queue', async () => {
      const {b} = await setup()
      await b.push('q', ['a', 'b', 'c'].map(text))
      await b.deadLetter('q', (await b.claim('q'))!.receipt)
      const held = (await b.claim('q'))!
      if (caps.topics) await b.subscribe('t', 'q')
      await b.push('other', [text('stays')])
      expect(await b.drop('q')).toBe(3)
      // What was in flight went too: its consumer's ack finds nothing (66).
      await expect(b.ack('q', held.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      expect(await b.exists('q')).toBe(false)
      if (caps.listing) expect((await b.stats()).map((s) => s.queue)).toEqual(['other'])
      await expect(b.drop('q')).rejects.toBeInstanceOf(NoSuchQueueError)
      if (caps.topics) {
        if (caps.listing) expect(await b.subscribers('t')).toEqual([])
        await expect(b.push('t', [text('x')])).rejects.toBeInstanceOf(NoSubscribersError)
      }
      await b.push('q', [text('new')])
      await expectStats(b, 'q', {dead: 0, delayed: 0, inflight: 0, ready: 1})
      expect((await b.claim('q'))?.body.toString()).toBe('new')
    })
  })

  describe(`${engine.name}: several clients at once`, () => {
    it('of several clients racing for one message, exactly one wins', async () => {
      const {b, store} = await setup()
      const [p] = await b.push('race', [text('only one')])
      const at = Date.now() + (store.url ? 1500 : 100)
      // A client-bound engine's claim ends with its client: the racers stay open until the test ends.
      const outs = (await Promise.all(Array.from({length: 6}, () => peerIn(store, Boolean(quirks.clientBound), 'claim-at', 'race', at)))).flat()
      expect(outs.filter((o) => o === `won ${p.id}`)).toHaveLength(1)
      expect(outs.filter((o) => o === 'lost')).toHaveLength(5)
    })

    it('several consumers draining one queue get every message exactly once', async () => {
      const {b, store} = await setup()
      const ids = (await b.push('q', Array.from({length: 300}, (_, i) => text(`m${i}`)))).map((p) => p.id)
      const at = Date.now() + (store.url ? 1000 : 50)
      const drained = (await Promise.all(Array.from({length: 3}, () => peer(store, 'drain', 'q', 800, at)))).flat()
      const got = drained.map((l) => l.split(' ')[0])
      expect(new Set(got).size).toBe(got.length)
      expect([...got].sort()).toEqual([...ids].sort())
      await expectStats(b, 'q', {inflight: 0, ready: 0})
    })

    it('purge racing with consumers: every message is either delivered or purged, once', async () => {
      const {b, store} = await setup()
      await b.push('q', Array.from({length: 300}, (_, i) => text(`m${i}`)))
      const consumers = Array.from({length: 2}, () => peer(store, 'drain', 'q', 800))
      await sleep(store.url ? 400 : 5)
      const purged = (await b.purge('q', ['ready'])).ready
      const acked = (await Promise.all(consumers)).flat()
      expect(new Set(acked).size).toBe(acked.length)
      expect(acked.length + purged).toBe(300)
    })

    it('a receipt from one client settles in another (pop here, ack there)', async () => {
      const {b, store} = await setup()
      await b.push('q', [text('x')])
      const d = (await b.claim('q'))!
      if (quirks.clientBound) {
        // Refused, and the delivery is still this client's to settle.
        expect(await peer(store, 'ack', 'q', d.receipt)).toEqual(['error not_in_flight'])
        expect(await b.ack('q', d.receipt)).toBe(d.id)
        return
      }
      expect(await peer(store, 'ack', 'q', d.receipt)).toEqual([`acked ${d.id}`])
      expect(await peer(store, 'ack', 'q', d.receipt)).toEqual(['error not_in_flight'])
    })
  })
}
