import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, FIXTURES, mq, sleep, tempSpool, userEnv} from '../support/helpers.js'

const H = (name: string) => join(FIXTURES, 'handlers', `${name}.sh`)
const outDir = () => mkdtempSync(join(tmpdir(), 'mq-out-'))
const lines = (s: string) => s.trim().split('\n').filter(Boolean)
const events = (s: string) => lines(s).map((l) => JSON.parse(l))
const stats = async (spool: string, q: string) => JSON.parse((await mq(spool, ['stats', q, '--json'])).out)

/** Starts `mq consume` in the background; resolves when it exits. */
function startConsume(spool: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, 'consume', ...args], {env: userEnv({MQ_SPOOL: spool, ...env}), stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => (out += c))
  child.stderr!.on('data', (c: Buffer) => (err += c))
  const done = new Promise<{code: number | null; err: string; out: string; signal: NodeJS.Signals | null}>((resolve) =>
    child.on('close', (code, signal) => resolve({code, err, out, signal})),
  )
  return {child, done, stderr: () => err}
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(25)
  }
}

describe('mq consume', () => {
  it('acks messages whose handler exits 0, then exits 0 with --once', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '--batch'], {input: 'a\nb\nc'})
    const r = await mq(spool, ['consume', 'q', '--once', '--json', '--exec', H('succeed')])
    expect(r.code).toBe(0)
    expect(events(r.out).map((e) => e.result)).toEqual(['ack', 'ack', 'ack'])
    expect(await stats(spool, 'q')).toMatchObject({done: 3, inflight: 0, ready: 0})
  })

  it('passes the body byte for byte on stdin and the metadata in the environment', async () => {
    const spool = tempSpool()
    const out = outDir()
    const body = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0, 65])
    const id = (await mq(spool, ['push', 'q', '--priority', '3'], {input: body})).out.trim()
    await mq(spool, ['consume', 'q', '--once', '--exec', H('copy')], {env: {OUT: out}})
    expect(readFileSync(join(out, `body.${id}`)).equals(body)).toBe(true)
    await mq(spool, ['push', 'q', 'x'])
    const r = await mq(spool, ['consume', 'q', '--once', '--json', '--exec', H('env')], {env: {OUT: out}})
    const [e] = events(r.out)
    const env = readFileSync(join(out, `env.${e.id}`), 'utf8')
    expect(env).toContain(`MQ_ID=${e.id}\n`)
    expect(env).toContain('MQ_QUEUE=q\n')
    expect(env).toContain('MQ_ATTEMPT=1\n')
    expect(env).toMatch(/MQ_ENQUEUED_AT=\d{4}-\d\d-\d\dT/)
  })

  it('retries a failing handler with growing delays, then succeeds', async () => {
    const spool = tempSpool()
    const out = outDir()
    await mq(spool, ['push', 'q', 'x'])
    const r = await mq(spool, ['consume', 'q', '--idle-exit', '3s', '--backoff', '200ms', '--json', '--exec', H('flaky')], {
      env: {OUT: out, SUCCEED_AT: '3'},
    })
    expect(r.code).toBe(0)
    const ev = events(r.out)
    expect(ev.map((e) => [e.result, e.attempt])).toEqual([['retry', 1], ['retry', 2], ['ack', 3]])
    // Equal jitter: the nth retry waits between half and all of 200ms * 2^(n-1).
    expect(ev[0].retryInMs).toBeGreaterThanOrEqual(100)
    expect(ev[0].retryInMs).toBeLessThanOrEqual(200)
    expect(ev[1].retryInMs).toBeGreaterThanOrEqual(200)
    expect(ev[1].retryInMs).toBeLessThanOrEqual(400)
    expect(lines(readFileSync(join(out, 'attempts.log'), 'utf8'))).toEqual(['1', '2', '3'])
  })

  it("dead-letters after the queue's max attempts, keeping the reason and the stderr tail", async () => {
    const spool = tempSpool()
    const id = (await mq(spool, ['push', 'q', 'x'])).out.trim()
    expect((await mq(spool, ['config', 'q', '--max-attempts', '2'])).code).toBe(0)
    const r = await mq(spool, ['consume', 'q', '--idle-exit', '2s', '--backoff', '50ms', '--json', '--exec', H('fail')])
    expect(events(r.out).map((e) => e.result)).toEqual(['retry', 'dead'])
    expect(await stats(spool, 'q')).toMatchObject({dead: 1, inflight: 0, ready: 0})
    const [dead] = JSON.parse((await mq(spool, ['peek', 'q', '--state', 'dead', '--json'])).out)
    expect(dead.id).toBe(id)
    expect(dead.reason).toMatchObject({attempts: 2, exitCode: 3, lastError: 'exit status 3', reason: 'max_attempts'})
    expect(dead.reason.stderrTail).toContain('fail.sh: something broke on attempt 2')
  })

  it('dead-letters a permanent failure (exit 100) at once', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'])
    const r = await mq(spool, ['consume', 'q', '--once', '--json', '--exec', H('permfail')])
    expect(events(r.out)).toMatchObject([{attempt: 1, exitCode: 100, result: 'dead'}])
    const [dead] = JSON.parse((await mq(spool, ['peek', 'q', '--state', 'dead', '--json'])).out)
    expect(dead.reason).toMatchObject({reason: 'rejected'})
    expect(dead.reason.stderrTail).toContain('cannot parse this message')
  })

  it('retries temporary failures (exit 75) and signals as failed attempts', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'])
    const t = await mq(spool, ['consume', 'q', '--once', '--json', '--exec', H('tempfail')])
    expect(events(t.out)).toMatchObject([{exitCode: 75, result: 'retry'}])
    await mq(spool, ['push', 'crash', 'x'])
    const c = await mq(spool, ['consume', 'crash', '--once', '--json', '--exec', H('crash')])
    expect(events(c.out)).toMatchObject([{result: 'retry', signal: 'SIGKILL'}])
  })

  it('kills a handler (and its children) that runs past --timeout', async () => {
    const spool = tempSpool()
    const out = outDir()
    await mq(spool, ['push', 'q', 'x'])
    const r = await mq(spool, ['consume', 'q', '--once', '--json', '--timeout', '500ms', '--kill-after', '1s', '--exec', H('sleep')], {
      env: {OUT: out, SLEEP: '30'},
    })
    const [e] = events(r.out)
    expect(e).toMatchObject({detail: 'timed out after 500ms', result: 'retry'})
    const log = readFileSync(join(out, 'sleep.log'), 'utf8')
    expect(log).not.toContain('end ')
  })

  it('two consumers with -j 2 each process every message exactly once', async () => {
    const spool = tempSpool()
    const out = outDir()
    const ids = lines((await mq(spool, ['push', 'q', '--batch'], {input: Array.from({length: 40}, (_, i) => `m${i}`).join('\n')})).out)
    const a = mq(spool, ['consume', 'q', '-j', '2', '--idle-exit', '2s', '--exec', H('copy')], {env: {OUT: out}})
    const b = mq(spool, ['consume', 'q', '-j', '2', '--idle-exit', '2s', '--exec', H('copy')], {env: {OUT: out}})
    const [ra, rb] = await Promise.all([a, b])
    expect([ra.code, rb.code]).toEqual([0, 0])
    const processed = lines(readFileSync(join(out, 'processed.log'), 'utf8'))
    expect(processed).toHaveLength(ids.length)
    expect([...processed].sort()).toEqual([...ids].sort())
    expect(await stats(spool, 'q')).toMatchObject({done: 40, inflight: 0, ready: 0})
  })

  it('renews the lease of a handler that runs longer than the lease, so nobody else gets it', async () => {
    const spool = tempSpool()
    const out = outDir()
    await mq(spool, ['push', 'q', 'x'])
    // The handler runs 3.5 leases; renewal every third of a lease keeps it.
    const slow = startConsume(spool, ['q', '--once', '--lease', '1200ms', '--json', '--exec', H('sleep')], {OUT: out, SLEEP: '4'})
    await until(() => existsSync(join(out, 'sleep.log')))
    // A second consumer polls all through the first one's run.
    const other = await mq(spool, ['consume', 'q', '--idle-exit', '4500ms', '--json', '--exec', H('succeed')])
    const r = await slow.done
    expect(events(r.out)).toMatchObject([{attempt: 1, result: 'ack'}])
    expect(other.out).toBe('')
    expect(lines(readFileSync(join(out, 'sleep.log'), 'utf8'))).toHaveLength(2) // one start, one end
  })

  it('redelivers the message of a consumer killed with -9 mid-handler, after its lease', async () => {
    const spool = tempSpool()
    const out = outDir()
    const id = (await mq(spool, ['push', 'q', 'x'])).out.trim()
    const victim = startConsume(spool, ['q', '--lease', '1s', '--exec', H('sleep')], {OUT: out, SLEEP: '3'})
    await until(() => existsSync(join(out, 'sleep.log')))
    victim.child.kill('SIGKILL')
    await victim.done
    const r = await mq(spool, ['consume', 'q', '--idle-exit', '3s', '--json', '--exec', H('succeed')])
    expect(events(r.out)).toMatchObject([{attempt: 2, id, result: 'ack'}])
  })

  it('on SIGTERM, lets running handlers finish, acks them, exits 0', async () => {
    const spool = tempSpool()
    const out = outDir()
    await mq(spool, ['push', 'q', '--batch'], {input: 'a\nb\nc\nd'})
    const c = startConsume(spool, ['q', '-j', '2', '--json', '--exec', H('sleep')], {OUT: out, SLEEP: '1'})
    await until(() => existsSync(join(out, 'sleep.log')) && lines(readFileSync(join(out, 'sleep.log'), 'utf8')).length >= 2)
    c.child.kill('SIGTERM')
    const r = await c.done
    expect(r.code).toBe(0)
    expect(events(r.out).map((e) => e.result)).toEqual(['ack', 'ack'])
    expect(await stats(spool, 'q')).toMatchObject({done: 2, inflight: 0, ready: 2})
  })

  it('on SIGTERM past --grace, stops the handlers and releases their messages uncounted', async () => {
    const spool = tempSpool()
    const out = outDir()
    await mq(spool, ['push', 'q', 'x'])
    const c = startConsume(spool, ['q', '--grace', '300ms', '--kill-after', '1s', '--json', '--exec', H('sleep')], {OUT: out, SLEEP: '30'})
    await until(() => existsSync(join(out, 'sleep.log')))
    c.child.kill('SIGTERM')
    const r = await c.done
    expect(r.code).toBe(0)
    expect(events(r.out)).toMatchObject([{result: 'released'}])
    const [ready] = JSON.parse((await mq(spool, ['peek', 'q', '--json'])).out)
    expect(ready).toMatchObject({attempt: 0, state: 'ready'})
  })

  it('a second signal stops at once and still releases the leases', async () => {
    const spool = tempSpool()
    const out = outDir()
    await mq(spool, ['push', 'q', 'x'])
    const c = startConsume(spool, ['q', '--json', '--exec', H('sleep')], {OUT: out, SLEEP: '30'})
    await until(() => existsSync(join(out, 'sleep.log')))
    c.child.kill('SIGTERM')
    await sleep(200)
    c.child.kill('SIGTERM')
    const r = await c.done
    expect(r.code).toBe(143)
    expect(await stats(spool, 'q')).toMatchObject({inflight: 0, ready: 1})
  })

  it('writes each delivery\'s output to --log-dir', async () => {
    const spool = tempSpool()
    const logs = outDir()
    const id = (await mq(spool, ['push', 'q', 'x'])).out.trim()
    await mq(spool, ['consume', 'q', '--once', '--log-dir', logs, '--shell', 'echo out; echo err >&2'])
    expect(readdirSync(logs)).toEqual([`${id}.1.log`])
    expect(readFileSync(join(logs, `${id}.1.log`), 'utf8')).toMatch(/out\n[\s\S]*err\n|err\n[\s\S]*out\n/)
  })

  it('waits on a paused queue and goes on after resume; --once finds nothing to do', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'])
    await mq(spool, ['pause', 'q'])
    const once = await mq(spool, ['consume', 'q', '--once', '--json', '--exec', H('succeed')])
    expect(once).toMatchObject({code: 0, out: ''})
    // --max-messages 1: it exits once it has the message, however long the resume takes to come.
    const c = startConsume(spool, ['q', '--max-messages', '1', '--json', '--exec', H('succeed')])
    await sleep(600)
    expect(await stats(spool, 'q')).toMatchObject({inflight: 0, ready: 1})
    await mq(spool, ['resume', 'q'])
    const r = await c.done
    expect(events(r.out)).toMatchObject([{result: 'ack'}])
  })

  it('refuses to start without a runnable handler (69) and claims nothing', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'])
    const r = await mq(spool, ['consume', 'q', '--exec', './does-not-exist'])
    expect(r.code).toBe(69)
    expect(await stats(spool, 'q')).toMatchObject({inflight: 0, ready: 1})
  })
})
