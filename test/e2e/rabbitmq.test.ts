import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'

import {mqAt} from '../support/chaos.js'
import {BIN, eventually, FIXTURES, HEAVY_MS, run, sleep, userEnv} from '../support/helpers.js'
import {describeWithServer, freshPrefix, rabbitUnavailable, rabbitVhostOfFile, withMuteServer, withPrefix} from '../support/servers.js'

// The command line on RabbitMQ, with real processes and the machine's broker, in a vhost of
// this file's own (deleted after): bodies byte for byte, fan-out, the bound, dead letters,
// delays, many producers and workers, kill -9 of workers and of a claiming process, an
// unreachable or mute broker, and a broker that closes the connection under a worker.
const H = (name: string) => join(FIXTURES, 'handlers', `${name}.sh`)
const PEER = join(FIXTURES, 'peer.mjs')

/** A log's lines (none while it does not exist yet). */
function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean)
  } catch {
    return []
  }
}

describeWithServer('rabbitmq command line', rabbitUnavailable(), () => {
  const vhostOfFile = rabbitVhostOfFile()
  let out: string
  const fresh = () => {
    out = mkdtempSync(join(tmpdir(), 'mq-rmq-'))
    return withPrefix(vhostOfFile().url, freshPrefix())
  }
  const processed = () => readLines(join(out, 'processed.log'))
  const stats = async (u: string, q: string) => JSON.parse((await mqAt(u, ['stats', q, '--json'])).out)

  it('a body round-trips byte for byte through push and consume; pop, ack and nack say 78 naming mq consume', async () => {
    const u = fresh()
    const body = Buffer.from(Array.from({length: 70_000}, (_, i) => (i * 31 + 7) % 256))
    const id = (await mqAt(u, ['push', 'jobs'], {input: body})).out.trim()
    expect(id).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/)
    for (const args of [['pop', 'jobs'], ['ack', 'jobs', `${id}:00`], ['nack', 'jobs', `${id}:00`]]) {
      const r = await mqAt(u, args)
      expect(r.code, r.stderr).toBe(78)
      expect(r.stderr).toMatch(/^mq: mq \w+ \(.*use mq consume QUEUE --exec HANDLER\): not supported by the rabbitmq engine\n$/)
    }
    const r = await run(process.execPath, [BIN, 'consume', 'jobs', '--once', '--exec', H('copy')], {env: userEnv({MQ_URL: u, OUT: out})})
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(join(out, `body.${id}`)).equals(body)).toBe(true)
    const s = await stats(u, 'jobs')
    expect(s).toMatchObject({dead: 0, delayed: null, done: null, inflight: null, ready: 0})
    rmSync(out, {force: true, recursive: true})
  })

  it('fans a topic out to every subscriber; a topic with none left refuses with 69', async () => {
    const u = fresh()
    expect((await mqAt(u, ['subscribe', 'orders', 'billing'])).code).toBe(0)
    expect((await mqAt(u, ['subscribe', 'orders', 'shipping'])).code).toBe(0)
    const id = (await mqAt(u, ['push', 'orders', 'order 1'])).out.trim()
    for (const q of ['billing', 'shipping']) {
      const r = await run(process.execPath, [BIN, 'consume', q, '--once', '--exec', H('copy')], {env: userEnv({MQ_URL: u, OUT: out})})
      expect(r.code, r.stderr).toBe(0)
    }
    expect(processed()).toEqual([id, id])
    await mqAt(u, ['unsubscribe', 'orders', 'billing'])
    await mqAt(u, ['unsubscribe', 'orders', 'shipping'])
    const none = await mqAt(u, ['push', 'orders', 'order 2'])
    expect(none.code).toBe(69)
    expect(none.stderr.trim().split('\n')).toHaveLength(1)
    const list = await mqAt(u, ['topics'])
    expect(list.code).toBe(78)
    rmSync(out, {force: true, recursive: true})
  })

  it('a bounded queue refuses a push past its bound with 75, one line, nothing written', async () => {
    const u = fresh()
    expect((await mqAt(u, ['config', 'q', '--max-depth', '2'])).code).toBe(0)
    expect((await mqAt(u, ['push', 'q', 'a'])).code).toBe(0)
    expect((await mqAt(u, ['push', 'q', 'b'])).code).toBe(0)
    const full = await mqAt(u, ['push', 'q', 'c'])
    expect(full.code).toBe(75)
    expect(full.stderr.trim().split('\n')).toHaveLength(1)
    expect((await stats(u, 'q')).ready).toBe(2)
    // The settings were given when the queue was made: a change is 78, one line.
    const change = await mqAt(u, ['config', 'q', '--max-depth', '5'])
    expect(change.code).toBe(78)
    expect(change.stderr).toMatch(/fixed when it is made/)
    expect(JSON.parse((await mqAt(u, ['config', 'q', '--json'])).out)).toMatchObject({maxAttempts: 5, maxDepth: 2})
  })

  it('two processes making one queue with other settings at once: the first settings stand, the other is refused (78)', async () => {
    const u = fresh()
    for (const q of ['r1', 'r2', 'r3', 'r4']) {
      const [a, b] = await Promise.all([mqAt(u, ['config', q, '--max-depth', '3']), mqAt(u, ['config', q, '--max-depth', '5'])])
      expect([a.code, b.code].sort(), a.stderr + b.stderr).toEqual([0, 78])
      const won = a.code === 0 ? 3 : 5
      expect(JSON.parse((await mqAt(u, ['config', q, '--json'])).out)).toMatchObject({maxDepth: won})
      expect((await mqAt(u, ['push', q, '--batch'], {input: 'a\nb\nc\nd\ne\nf'})).code).toBe(75)
      expect((await mqAt(u, ['push', q, '--batch'], {input: Array.from({length: won}, (_, i) => `m${i}`).join('\n')})).code).toBe(0)
      expect((await stats(u, q)).ready).toBe(won)
    }
  })

  it('retries with backoff, then dead-letters with the reason; requeue brings it back', async () => {
    const u = fresh()
    expect((await mqAt(u, ['config', 'q', '--max-attempts', '3'])).code).toBe(0)
    const id = (await mqAt(u, ['push', 'q', 'poison'])).out.trim()
    const r = await run(process.execPath, [BIN, 'consume', 'q', '--drain', '--backoff', '200ms', '--shell', 'echo "try $MQ_ATTEMPT" >&2; exit 3'], {env: userEnv({MQ_URL: u})})
    expect(r.code, r.stderr).toBe(65) // --drain: a message died
    expect(r.stderr.match(/^try \d$/gm)).toEqual(['try 1', 'try 2', 'try 3'])
    const [dead] = JSON.parse((await mqAt(u, ['peek', 'q', '--state', 'dead', '--json'])).out)
    expect(dead).toMatchObject({attempt: 3, id, reason: {attempts: 3, exitCode: 3, reason: 'max_attempts', stderrTail: 'try 3\n'}, state: 'dead'})
    expect((await stats(u, 'q')).dead).toBe(1)
    expect((await mqAt(u, ['requeue', 'q'])).out.trim()).toBe(id)
    const again = await run(process.execPath, [BIN, 'consume', 'q', '--once', '--json', '--exec', 'true'], {env: userEnv({MQ_URL: u})})
    expect(JSON.parse(again.out.trim().split('\n')[0])).toMatchObject({attempt: 1, id, result: 'ack'})
  })

  it('a delayed push is held until its time, then delivered', async () => {
    const u = fresh()
    const id = (await mqAt(u, ['push', 'q', 'later', '--delay', '5s'])).out.trim()
    const early = await run(process.execPath, [BIN, 'consume', 'q', '--once', '--json', '--exec', 'true'], {env: userEnv({MQ_URL: u})})
    expect(early.out.trim()).toBe('')
    expect((await stats(u, 'q')).ready).toBe(0)
    // A worker that waits gets it when it falls due (the broker moves it on its own time).
    const due = await run(process.execPath, [BIN, 'consume', 'q', '--max-messages', '1', '--idle-exit', '20s', '--json', '--exec', 'true'], {env: userEnv({MQ_URL: u}), timeoutMs: 60_000})
    expect(JSON.parse(due.out.trim())).toMatchObject({id, result: 'ack'})
  })

  it(
    'many producers and workers: every message handled exactly once',
    async () => {
      const u = fresh()
      const producers = Array.from({length: 4}, (_, p) =>
        mqAt(u, ['push', 'work', '--batch'], {input: Array.from({length: 100}, (_, i) => `p${p}-${i}`).join('\n')}).then((r) => r.out.trim().split('\n')),
      )
      const workers = Array.from({length: 3}, () => run(process.execPath, [BIN, 'consume', 'work', '-j', '4', '--idle-exit', '3s', '--exec', H('copy')], {env: userEnv({MQ_URL: u, OUT: out}), timeoutMs: 120_000}))
      const ids = (await Promise.all(producers)).flat()
      for (const w of await Promise.all(workers)) expect(w.code, w.stderr).toBe(0)
      // RACE: on a loaded machine a producer can finish after every worker has been idle for
      // 3 s and exited; what it pushed is still queued, and a last worker drains it. Exactly
      // once is asserted over all of them.
      const last = await run(process.execPath, [BIN, 'consume', 'work', '-j', '4', '--drain', '--exec', H('copy')], {env: userEnv({MQ_URL: u, OUT: out}), timeoutMs: 120_000})
      expect(last.code, last.stderr).toBe(0)
      expect(ids).toHaveLength(400)
      const got = processed()
      expect(new Set(got).size).toBe(got.length)
      expect([...got].sort()).toEqual([...ids].sort())
      rmSync(out, {force: true, recursive: true})
    },
    HEAVY_MS,
  )

  it('a worker killed -9 under its handlers loses nothing: what it held is delivered again', async () => {
    const u = fresh()
    const ids = (await mqAt(u, ['push', 'q', '--batch'], {input: Array.from({length: 10}, (_, i) => `m${i}`).join('\n')})).out.trim().split('\n')
    const child = spawn(process.execPath, [BIN, 'consume', 'q', '-j', '2', '--exec', H('sleep')], {detached: true, env: userEnv({MQ_URL: u, OUT: out, SLEEP: '30'}), stdio: 'ignore'})
    await eventually(() => readLines(join(out, 'sleep.log')), (started) => started.length >= 2, {every: 50})
    process.kill(-child.pid!, 'SIGKILL') // the worker and its handlers, as a crash takes them
    const r = await run(process.execPath, [BIN, 'consume', 'q', '--idle-exit', '2s', '--json', '--exec', H('copy')], {env: userEnv({MQ_URL: u, OUT: out}), timeoutMs: 60_000})
    expect(r.code, r.stderr).toBe(0)
    expect([...processed()].sort()).toEqual([...ids].sort())
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l))
    // The two it held come back as second deliveries (the broker counted them).
    expect(events.filter((e) => e.attempt === 2)).toHaveLength(2)
    rmSync(out, {force: true, recursive: true})
  })

  it('a process killed -9 holding a claim loses nothing: the message is delivered again', async () => {
    const u = fresh()
    const id = (await mqAt(u, ['push', 'q', 'held'])).out.trim()
    const child = spawn(process.execPath, [PEER, u, 'claim-hold', 'q', '10000'], {stdio: ['ignore', 'pipe', 'inherit']})
    let said = ''
    child.stdout.on('data', (c: Buffer) => (said += c))
    await eventually(() => said, (s) => s.includes('\n'), {every: 25})
    expect(said).toBe(`got ${id} 1\n`)
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    // The broker gives the message back once it sees the socket closed: a waiting worker gets it.
    const r = await run(process.execPath, [BIN, 'consume', 'q', '--max-messages', '1', '--idle-exit', '20s', '--json', '--exec', 'true'], {env: userEnv({MQ_URL: u}), timeoutMs: 60_000})
    expect(JSON.parse(r.out.trim())).toMatchObject({attempt: 2, id, result: 'ack'})
  })

  it('the worker consumes with a prefetch of -j (the broker sends it at most -j unsettled)', async () => {
    const u = fresh()
    await mqAt(u, ['push', 'q', '--batch'], {input: Array.from({length: 20}, (_, i) => `m${i}`).join('\n')})
    const child = spawn(process.execPath, [BIN, 'consume', 'q', '-j', '5', '--exec', H('sleep')], {detached: true, env: userEnv({MQ_URL: u, OUT: out, SLEEP: '30'}), stdio: 'ignore'})
    try {
      const {execFile} = await import('node:child_process')
      const consumers = () =>
        new Promise<string>((r) => execFile('rabbitmqctl', ['-q', 'list_consumers', '-p', vhostOfFile().name, 'queue_name', 'prefetch_count'], (_e, stdout) => r(String(stdout))))
      const listed = await eventually(consumers, (l) => /\t5$/m.test(l))
      expect(listed).toMatch(new RegExp(`^${new URL(u).searchParams.get('prefix')}/q\t5$`, 'm'))
      // Five handlers hold five messages; the broker sent no more: 15 still ready.
      await eventually(async () => (await stats(u, 'q')).ready, (n) => n === 15)
      await sleep(300)
      expect((await stats(u, 'q')).ready).toBe(15)
    } finally {
      process.kill(-child.pid!, 'SIGKILL') // the worker and its handlers
      rmSync(out, {force: true, recursive: true})
    }
  })

  it('an unreachable or mute broker is one line and 69; a wrong vhost or password says so', async () => {
    const down = await mqAt('amqp://guest:guest@127.0.0.1:1/', ['push', 'q', 'x'], {timeoutMs: 20_000})
    expect(down.code).toBe(69)
    expect(down.stderr.trim().split('\n')).toHaveLength(1)
    await withMuteServer(async (port) => {
      const mute = await mqAt(`amqp://guest:guest@127.0.0.1:${port}/?connect_timeout=500ms`, ['push', 'q', 'x'], {timeoutMs: 20_000})
      expect(mute.code).toBe(69)
      expect(mute.stderr.trim().split('\n')).toHaveLength(1)
    })
    const u = new URL(vhostOfFile().url)
    const vh = await mqAt(`amqp://guest:guest@${u.host}/no-such-vhost-here`, ['push', 'q', 'x'])
    expect(vh.code).toBe(78)
    expect(vh.stderr).toMatch(/vhost "no-such-vhost-here"/)
    const pw = await mqAt(`amqp://guest:wrong@${u.host}/${u.pathname.slice(1)}`, ['push', 'q', 'x'])
    expect(pw.code).toBe(77)
    const opt = await mqAt(`${vhostOfFile().url}?speed=fast`, ['push', 'q', 'x'])
    expect(opt.code).toBe(78)
    expect(opt.stderr).toMatch(/unknown option speed=/)
  })

  it('a broker that closes the connection under a running consume: 69, one line, nothing lost', async () => {
    const u = fresh()
    const ids = (await mqAt(u, ['push', 'q', '--batch'], {input: Array.from({length: 30}, (_, i) => `m${i}`).join('\n')})).out.trim().split('\n')
    const child = spawn(process.execPath, [BIN, 'consume', 'q', '-j', '2', '--json', '--exec', H('sleep')], {env: userEnv({MQ_URL: u, OUT: out, SLEEP: '0.2'}), stdio: ['ignore', 'pipe', 'pipe']})
    let err = ''
    let events = ''
    child.stderr.on('data', (c: Buffer) => (err += c))
    child.stdout.on('data', (c: Buffer) => (events += c))
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    await eventually(() => events, (e) => e.split('\n').length >= 4, {every: 25})
    const {execFile} = await import('node:child_process')
    await new Promise((r) => execFile('rabbitmqctl', ['-q', 'close_all_connections', '-p', vhostOfFile().name, 'test: the broker goes away'], r))
    const code = await Promise.race([exited, sleep(30_000).then(() => 'hung')])
    expect(code, err).toBe(69)
    // With --json the error is one JSON line on stderr (the handlers' settles that failed are notices).
    const errors = err.split('\n').filter((l) => l.startsWith('{"error"'))
    expect(errors, err).toHaveLength(1)
    expect(JSON.parse(errors[0]).error).toMatchObject({code: 'unavailable', exitCode: 69, message: expect.stringMatching(/the connection was lost.*CONNECTION_FORCED/)})
    expect(err).not.toMatch(/\n\s+at /) // no stack trace
    const acked = events.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.result === 'ack').map((e) => e.id)
    // Everything not acked is still there: a second worker gets exactly the rest.
    const rest = await run(process.execPath, [BIN, 'consume', 'q', '--idle-exit', '2s', '--json', '--exec', 'true'], {env: userEnv({MQ_URL: u}), timeoutMs: 60_000})
    const later = rest.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id)
    expect([...new Set([...acked, ...later])].sort()).toEqual([...ids].sort())
    rmSync(out, {force: true, recursive: true})
  })

  it('stats names what the broker cannot count, as unknown; listing queues and the dashboard are 78', async () => {
    const u = fresh()
    await mqAt(u, ['push', 'q', 'x'])
    const table = await mqAt(u, ['stats', 'q'])
    expect(table.code).toBe(0)
    expect(table.out).toMatch(/^q\s+1\s+\?\s+\?\s+\?\s+0\s/m)
    // A lease past RabbitMQ's default consumer_timeout: said to people, beside the table.
    expect((await mqAt(u, ['config', 'long', '--lease', '45m'])).code).toBe(0)
    const warned = await mqAt(u, ['stats', 'long'])
    expect(warned.code).toBe(0)
    expect(warned.stderr).toMatch(/^mq: warning: long: its lease is longer than 30 minutes, RabbitMQ's default consumer_timeout/m)
    for (const args of [['stats'], ['queues'], ['dashboard'], ['peek', 'q'], ['show', 'q', '0000000000000000-0000000000000000'], ['cancel', 'q', '0000000000000000-0000000000000000']]) {
      const r = await mqAt(u, args)
      expect(r.code, args.join(' ')).toBe(78)
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
  })
})
