import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, mq, run, sleep, tempSpool} from '../support/helpers.js'

describe('mq, spawned as a user runs it', () => {
  it('pushes and pops on the default spool with nothing configured', async () => {
    const home = tempSpool()
    const env = {HOME: home, MQ_SPOOL: '', XDG_STATE_HOME: ''}
    const push = await run(process.execPath, [BIN, 'push', 'jobs', 'hello'], {env})
    expect(push.code).toBe(0)
    const pop = await run(process.execPath, [BIN, 'pop', 'jobs'], {env})
    expect(pop.code).toBe(0)
    expect(pop.out.split('\n')[1]).toBe('hello')
    expect(existsSync(join(home, '.local', 'state', 'mq', 'jobs', 'cur'))).toBe(true)
  })

  it('round-trips a binary body from stdin through pop, byte for byte', async () => {
    const spool = tempSpool()
    const body = Buffer.concat([Buffer.from([0, 255, 10, 13, 0]), Buffer.from('\n\n  trailing space  \n')])
    expect((await mq(spool, ['push', 'bin'], {input: body})).code).toBe(0)
    await mq(spool, ['push', 'bin', '-'], {input: body})
    const pop = await mq(spool, ['pop', 'bin'])
    const nl = pop.stdout.indexOf(10)
    expect(pop.stdout.subarray(nl + 1).equals(body)).toBe(true)
    const file = join(mkdtempSync(join(tmpdir(), 'mq-body-')), 'body')
    const popFile = await mq(spool, ['pop', 'bin', '-o', file])
    expect(popFile.out).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16},a1,t[0-9a-f]{8},l\d+\n$/)
    expect(readFileSync(file).equals(body)).toBe(true)
    const ack = await mq(spool, ['ack', 'bin', popFile.out.trim()])
    expect(ack.code).toBe(0)
  })

  it('push --batch prints one id per line, in order; -0 splits on NUL', async () => {
    const spool = tempSpool()
    const lines = await mq(spool, ['push', 'b', '--batch'], {input: 'one\ntwo\n\nthree'})
    const ids = lines.out.trim().split('\n')
    expect(ids).toHaveLength(3)
    expect([...ids].sort()).toEqual(ids)
    const nul = await mq(spool, ['push', 'b', '-0'], {input: 'a\nb\0c\0'})
    expect(nul.out.trim().split('\n')).toHaveLength(2)
    const peek = JSON.parse((await mq(spool, ['peek', 'b', '-n', '10', '--json'])).out)
    expect(peek.map((m: {body: string}) => m.body)).toEqual(['one', 'two', 'three', 'a\nb', 'c'])
  })

  it('rejects empty stdin with 66 and writes nothing', async () => {
    const spool = tempSpool()
    const r = await mq(spool, ['push', 'jobs'], {input: ''})
    expect(r.code).toBe(66)
    expect(r.stderr).toMatch(/^mq: empty message body on stdin/)
    expect(r.out).toBe('')
    expect(existsSync(join(spool, 'jobs'))).toBe(false)
    expect((await mq(spool, ['push', 'jobs', '--allow-empty'], {input: ''})).code).toBe(0)
  })

  it('a bad queue name is a usage error and creates nothing', async () => {
    const spool = tempSpool()
    const r = await mq(spool, ['push', '../escape', 'x'])
    expect(r.code).toBe(64)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(readdirSync(spool)).toEqual([])
  })

  it('pop --wait returns a message pushed by another process meanwhile', async () => {
    const spool = tempSpool()
    const waiting = mq(spool, ['pop', 'w', '--wait', '20s'])
    await sleep(500)
    await mq(spool, ['push', 'w', 'arrived'])
    const pop = await waiting
    expect(pop.code).toBe(0)
    expect(pop.out.split('\n')[1]).toBe('arrived')
  })

  it('pop --wait exits 3 when nothing arrives in time', async () => {
    const spool = tempSpool()
    const pop = await mq(spool, ['pop', 'w', '--wait', '300ms'])
    expect(pop.code).toBe(3)
    expect(pop.out).toBe('')
  })

  it('a corrupt file dropped into new/ is quarantined and counted, and the queue goes on', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'good'])
    const {writeFileSync} = await import('node:fs')
    writeFileSync(join(spool, 'q', 'new', 'garbage.txt'), 'dropped here by hand')
    const pop = await mq(spool, ['pop', 'q'])
    expect(pop.code).toBe(0)
    expect(pop.out.split('\n')[1]).toBe('good')
    expect(pop.stderr).toMatch(/quarantined .*garbage\.txt/)
    const stats = JSON.parse((await mq(spool, ['stats', 'q', '--json'])).out)
    expect(stats).toMatchObject({bad: 1, inflight: 1, ready: 0})
  })

  it('a spool path that is not a directory is a configuration error (78); one that cannot be made is 73; never a hang', async () => {
    const spool = tempSpool()
    const {writeFileSync} = await import('node:fs')
    writeFileSync(join(spool, 'file'), '')
    const r = await mq(join(spool, 'file'), ['push', 'q', 'x'])
    expect(r.code).toBe(78)
    expect(r.stderr).toBe(`mq: ${join(spool, 'file')}: the spool is a regular file, not a directory (give --spool a directory)\n`)
    // mkdir under /proc answers ENOENT below an existing parent; Node's recursive mkdir spins on it.
    const proc = await mq('/proc/mq-test-spool', ['push', 'q', 'x'])
    expect(proc.code).toBe(73)
  })

  it('an unknown command is a usage error (64) in one line', async () => {
    const r = await run(process.execPath, [BIN, 'pish', 'q', 'x'])
    expect(r.code).toBe(64)
    expect(r.stderr).toBe('mq: unknown command "pish" (did you mean "mq push"?)\n')
  })

  it('--help works for every command', async () => {
    for (const cmd of ['push', 'pop', 'ack', 'nack', 'peek', 'stats', 'consume', 'purge', 'config', 'subscribe', 'gc']) {
      const r = await run(process.execPath, [BIN, cmd, '--help'])
      expect(r.code).toBe(0)
      expect(r.out).toContain('USAGE')
    }
  })
})
