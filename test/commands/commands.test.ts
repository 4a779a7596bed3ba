import {describe, expect, it} from 'vitest'

import Ack from '../../src/commands/ack.js'
import Nack from '../../src/commands/nack.js'
import Peek from '../../src/commands/peek.js'
import Pop from '../../src/commands/pop.js'
import Push from '../../src/commands/push.js'
import Stats from '../../src/commands/stats.js'
import {EXIT} from '../../src/exit-codes.js'
import {tempSpool} from '../support/helpers.js'
import {runIn} from '../support/in-process.js'

describe('commands, in process', () => {
  it('push prints the id; pop prints the receipt then the body; ack finishes it', async () => {
    const spool = tempSpool()
    const push = await runIn(Push, ['jobs', 'hello world', '--spool', spool])
    const id = push.stdout.trim()
    expect(id).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/)
    const pop = await runIn(Pop, ['jobs', '--spool', spool])
    const [receipt, ...rest] = pop.stdout.split('\n')
    expect(receipt).toMatch(new RegExp(`^${id},a1,t[0-9a-f]{8},l\\d+$`))
    expect(rest.join('\n')).toBe('hello world')
    expect((await runIn(Ack, ['jobs', receipt, '--spool', spool])).exitCode).toBe(0)
    const stats = await runIn(Stats, ['jobs', '--json', '--spool', spool])
    expect(JSON.parse(stats.stdout)).toMatchObject({dead: 0, delayed: 0, done: 1, inflight: 0, ready: 0})
  })

  it('pop on an empty queue prints nothing and exits 3', async () => {
    const spool = tempSpool()
    const pop = await runIn(Pop, ['jobs', '--spool', spool])
    expect(pop).toMatchObject({exitCode: EXIT.EMPTY, stdout: ''})
    const json = await runIn(Pop, ['jobs', '--json', '--spool', spool])
    expect(json).toMatchObject({exitCode: EXIT.EMPTY, stdout: ''})
  })

  it('pop --json gives id, receipt, attempt and the body; base64 when not UTF-8', async () => {
    const spool = tempSpool()
    await runIn(Push, ['jobs', 'text', '--spool', spool])
    const pop = JSON.parse((await runIn(Pop, ['jobs', '--json', '--spool', spool])).stdout)
    expect(pop).toMatchObject({attempt: 1, body: 'text', encoding: 'utf8', queue: 'jobs'})
    expect(pop.receipt.startsWith(pop.id)).toBe(true)
    await runIn(Push, ['jobs', 'text', '--spool', spool])
    const b64 = JSON.parse((await runIn(Pop, ['jobs', '--json', '--base64', '--spool', spool])).stdout)
    expect(b64).toMatchObject({body: Buffer.from('text').toString('base64'), encoding: 'base64'})
  })

  it('ack of an unknown receipt exits 66 with one line on stderr', async () => {
    const spool = tempSpool()
    await runIn(Push, ['jobs', 'x', '--spool', spool])
    const r = await runIn(Ack, ['jobs', '019a6c3f2b100003-9f2c4e01a7b3d566,a1,l1', '--spool', spool])
    expect(r.exitCode).toBe(EXIT.NO_INPUT)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^mq: jobs: 019a6c3f2b100003-9f2c4e01a7b3d566: not in flight/)
  })

  it('errors under --json are a small JSON object on stderr with the right status', async () => {
    const spool = tempSpool()
    const r = await runIn(Ack, ['jobs', 'nonsense', '--json', '--spool', spool])
    expect(r.exitCode).toBe(EXIT.DATA)
    expect(r.stdout).toBe('')
    expect(JSON.parse(r.stderr)).toEqual({error: {code: 'data', exitCode: 65, message: expect.stringContaining('neither a receipt')}})
  })

  it.each([['../etc'], ['a/b'], ['.hidden'], ['x'.repeat(200)], ['tab\there'], ['-']])('rejects the queue name %j with 64', async (name) => {
    const spool = tempSpool()
    const r = await runIn(Push, ['--spool', spool, '--', name, 'body'])
    expect(r.exitCode).toBe(EXIT.USAGE)
    expect((await runIn(Stats, ['--json', '--spool', spool])).stdout.trim()).toBe('[]')
  })

  it('bad flag values are usage errors (64), not 1 or 2', async () => {
    const spool = tempSpool()
    expect((await runIn(Pop, ['jobs', '--lease', 'soon', '--spool', spool])).exitCode).toBe(EXIT.USAGE)
    expect((await runIn(Push, ['jobs', 'x', '--priority', '10', '--spool', spool])).exitCode).toBe(EXIT.USAGE)
    expect((await runIn(Pop, ['--spool', spool])).exitCode).toBe(EXIT.USAGE)
  })

  it('nack gives the message back, with a delay if asked', async () => {
    const spool = tempSpool()
    await runIn(Push, ['jobs', 'x', '--spool', spool])
    const receipt = (await runIn(Pop, ['jobs', '--spool', spool])).stdout.split('\n')[0]
    const nack = await runIn(Nack, ['jobs', receipt, '--delay', '1h', '--json', '--spool', spool])
    expect(JSON.parse(nack.stdout)).toMatchObject({queue: 'jobs', state: 'delayed'})
    const stats = JSON.parse((await runIn(Stats, ['jobs', '--json', '--spool', spool])).stdout)
    expect(stats).toMatchObject({delayed: 1, inflight: 0, ready: 0})
  })

  it('peek lists ready messages without claiming them', async () => {
    const spool = tempSpool()
    for (const b of ['one', 'two', 'three']) await runIn(Push, ['jobs', b, '--spool', spool])
    const peek = JSON.parse((await runIn(Peek, ['jobs', '-n', '2', '--json', '--spool', spool])).stdout)
    expect(peek.map((m: {body: string}) => m.body)).toEqual(['one', 'two'])
    const human = await runIn(Peek, ['jobs', '--spool', spool])
    expect(human.stdout.trim().split('\n')).toHaveLength(3)
    expect(JSON.parse((await runIn(Stats, ['jobs', '--json', '--spool', spool])).stdout).ready).toBe(3)
  })

  it('stats without a queue lists every queue', async () => {
    const spool = tempSpool()
    await runIn(Push, ['a', 'x', '--spool', spool])
    await runIn(Push, ['b', 'x', '--spool', spool])
    const all = JSON.parse((await runIn(Stats, ['--json', '--spool', spool])).stdout)
    expect(all.map((s: {queue: string}) => s.queue)).toEqual(['a', 'b'])
    const human = (await runIn(Stats, ['--spool', spool])).stdout
    expect(human).toMatch(/^QUEUE\s+READY\s+INFLIGHT\s+DELAYED\s+DONE\s+DEAD\s+BAD\s+OLDEST\n/)
  })
})
