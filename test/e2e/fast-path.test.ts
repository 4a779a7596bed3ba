import {describe, expect, it} from 'vitest'

import {execFileSync} from 'node:child_process'
import {join} from 'node:path'

import {mq, ROOT, tempSpool} from '../support/helpers.js'

/** Runs the same command line through the fast path and through oclif (MQ_NO_FAST=1). */
async function both(spool: string, args: string[], input?: string) {
  const fast = await mq(spool, args, {input})
  const slow = await mq(spool, args, {env: {MQ_NO_FAST: '1'}, input})
  return {fast, slow}
}

const mask = (s: string) => s.replaceAll(/[0-9a-f]{16}-[0-9a-f]{16}(,[a-z0-9,]+)?/g, 'ID').replaceAll(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')

describe('the fast path and oclif answer alike', () => {
  it.each([
    [['push', 'q', 'hello']],
    [['push', 'q', '--json', 'hello']],
    [['push', 'q', '--priority', '3', '--delay', '1h', 'x']],
    [['push', 'q', '--priority', '12', 'x']],
    [['push', 'q', '--delay', 'soon', 'x']],
    [['push', 'q', '--delay', '1m', '--at', '@0', 'x']],
    [['push', '../bad', 'x']],
    [['push', 'q', '--no-such-flag', 'x']],
    [['push']],
    [['pop', 'empty']],
    [['pop', 'empty', '--json']],
    [['pop', 'q', '--lease', 'forever']],
    [['pop', 'q', '--max-attempts', '0']],
    [['ack', 'q', 'not-a-receipt']],
    [['ack', 'q', '019a6c3f2b100003-9f2c4e01a7b3d566,a1,l1', '--json']],
    [['nack', 'q', '019a6c3f2b100003-9f2c4e01a7b3d566']],
    // the command lines where the two parsers used to disagree (issue 11)
    [['push', 'q', '-p', '3', '-p', '4', 'x']],
    [['push', 'q', '--header', 'a=1', 'x']],
    [['push', 'q', '-b0']],
    [['pop', 'q', '--lease', '1m', '--lease', '2m']],
    [['pop', 'q', '-o']],
    [['push', 'q', '-p3', 'x']],
    [['push', 'q', '--priority=3', '--', '-x']],
    [['consume', 'q', '--exec', 'cat', 'extra']],
  ])('%j', async (args) => {
    const {fast, slow} = await both(tempSpool(), args)
    expect(fast.code).toBe(slow.code)
    expect(mask(fast.stderr)).toBe(mask(slow.stderr))
    expect(mask(fast.out)).toBe(mask(slow.out))
  })

  it('empty stdin and --batch behave the same', async () => {
    const spool = tempSpool()
    const {fast, slow} = await both(spool, ['push', 'q'], '')
    expect([fast.code, slow.code]).toEqual([66, 66])
    const batch = await both(spool, ['push', 'q', '-b'], 'a\nb\n')
    expect(batch.fast.out.trim().split('\n')).toHaveLength(2)
    expect(batch.slow.out.trim().split('\n')).toHaveLength(2)
  })

  it('the four command lines the issue names mean one thing, on both paths', async () => {
    for (const env of [{}, {MQ_NO_FAST: '1'}]) {
      const spool = tempSpool()
      expect((await mq(spool, ['push', 'q', '-p', '3', '-p', '4', 'x'], {env})).code).toBe(64)
      expect((await mq(spool, ['pop', 'q', '--lease', '1m', '--lease', '2m'], {env})).code).toBe(64)
      // --header takes one value: x is the body
      expect((await mq(spool, ['push', 'q', '--header', 'a=1', 'x'], {env})).code).toBe(0)
      const popped = await mq(spool, ['pop', 'q', '--json'], {env})
      expect(JSON.parse(popped.out)).toMatchObject({body: 'x', headers: {a: '1'}})
      // -b0 is -b -0: a NUL-separated batch
      const batch = await mq(spool, ['push', 'n', '-b0'], {env, input: 'one\0two\0'})
      expect(batch.code).toBe(0)
      expect(batch.out.trim().split('\n')).toHaveLength(2)
    }
  })
})

describe('the fast path, one bundle per engine (scripts/build-fast.js)', () => {
  // Each bundle holds one engine; given another's URL it declines (resolves false) having
  // printed nothing and connected to nothing, and bin/run.cjs hands the command line to oclif.
  it.each([
    ['fast', 'redis://127.0.0.1:9/0'],
    ['fast', 'memory:'],
    ['fast-redis', 'postgres://nobody@127.0.0.1:9/db'],
    ['fast-postgres', 'amqp://127.0.0.1:9/'],
    ['fast-rabbitmq', 'redis://127.0.0.1:9/0'],
    ['fast-redis', 'file:///nonexistent/spool'],
  ])('dist/%s.cjs declines %s', (bundle, url) => {
    const script = `require(${JSON.stringify(join(ROOT, 'dist', `${bundle}.cjs`))}).runFast(['push', 'q', 'x', '--url', ${JSON.stringify(url)}]).then((done) => process.stdout.write('done=' + done))`
    const out = execFileSync(process.execPath, ['-e', script], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
    expect(out).toBe('done=false')
  })

  it('a bundle picked for the wrong engine still answers right: oclif takes the command line', async () => {
    // --url=memory: names an engine no bundle holds: the spool's bundle is picked and declines.
    const r = await mq(tempSpool(), ['push', '--url=memory:', 'q', 'x'])
    const slow = await mq(tempSpool(), ['push', '--url=memory:', 'q', 'x'], {env: {MQ_NO_FAST: '1'}})
    expect(r.code).toBe(78)
    expect(r.stderr).toBe(slow.stderr)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })
})
