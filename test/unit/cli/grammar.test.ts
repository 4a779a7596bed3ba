import {describe, expect, expectTypeOf, it} from 'vitest'

import {hoistGlobalOptions, parseCommandLine, type Request, unknownCommand, VERBS} from '../../../src/cli/grammar.js'
import Consume from '../../../src/commands/consume.js'
import Push from '../../../src/commands/push.js'

const parse = (verb: keyof typeof VERBS, ...argv: string[]) => parseCommandLine(verb, argv)

describe('the command-line grammar (one declaration, one parser)', () => {
  it('the request is typed from the grammar: names camelCased, values as the parser makes them', () => {
    const {input} = parseCommandLine('push', ['q', 'x', '--key-ttl', '1h', '-H', 'a=b', '-p', '3'])
    expect(input).toMatchObject({body: 'x', header: ['a=b'], keyTtl: 3_600_000, priority: 3, queue: 'q'})
    expectTypeOf(input.keyTtl).toEqualTypeOf<number>()
    expectTypeOf(input.priority).toEqualTypeOf<number | undefined>()
    expectTypeOf(input.header).toEqualTypeOf<string[] | undefined>()
    expectTypeOf(input.queue).toEqualTypeOf<string>()
    expectTypeOf(input.batch).toEqualTypeOf<boolean | undefined>()
    expectTypeOf<Request<'purge'>['state']>().toEqualTypeOf<Array<'all' | 'dead' | 'delayed' | 'done' | 'ready'>>()
    expectTypeOf<Request<'peek'>['state']>().toEqualTypeOf<'dead' | 'delayed' | 'done' | 'inflight' | 'ready'>()
    expectTypeOf<Request<'ack'>['receipt']>().toEqualTypeOf<string[]>()
    expectTypeOf<Request<'stats'>['queue']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<Request<'stats'>>().not.toHaveProperty('lease')
  })

  it('global options before the command move just after it; nothing else moves', () => {
    expect(hoistGlobalOptions(['--url', 'redis://h/0', 'stats', 'q'])).toEqual(['stats', '--url', 'redis://h/0', 'q'])
    expect(hoistGlobalOptions(['--json', '--spool=/s', 'push', 'q', 'x'])).toEqual(['push', '--json', '--spool=/s', 'q', 'x'])
    expect(hoistGlobalOptions(['consume', 'q', '--url', 'u', '--', '--url'])).toEqual(['consume', 'q', '--url', 'u', '--', '--url'])
    // No command after them, or another flag first: left for the parser to refuse.
    expect(hoistGlobalOptions(['--url'])).toEqual(['--url'])
    expect(hoistGlobalOptions(['--url', 'u'])).toEqual(['--url', 'u'])
    expect(hoistGlobalOptions(['--json', '--help'])).toEqual(['--json', '--help'])
    expect(hoistGlobalOptions(['--lease', '1s', 'pop', 'q'])).toEqual(['--lease', '1s', 'pop', 'q'])
  })

  it('an empty value is a usage error naming the flag, whatever its type', () => {
    for (const [verb, flag] of [['push', '--delay'], ['push', '--key'], ['pop', '--lease'], ['pop', '--output'], ['push', '--priority'], ['push', '--spool']] as const) {
      expect(() => parse(verb, 'q', 'x', flag, ''), flag).toThrow(`${flag}: empty value (an unset variable?)`)
      expect(() => parse(verb, 'q', 'x', flag, '  '), flag).toThrow(/empty value/)
    }
  })

  it('reads flags as getopt_long does: --name VALUE, --name=VALUE, -c VALUE, -cVALUE, runs of booleans', () => {
    expect(parse('push', 'q', '--priority', '3', 'x').flags.priority).toBe(3)
    expect(parse('push', 'q', '--priority=3', 'x').flags.priority).toBe(3)
    expect(parse('push', 'q', '-p', '3', 'x').flags.priority).toBe(3)
    expect(parse('push', 'q', '-p3', 'x').flags.priority).toBe(3)
    expect(parse('push', 'q', '-b0').flags).toMatchObject({batch: true, null: true})
    expect(parse('pop', 'q', '--lease', '2m').flags.lease).toBe(120_000)
    expect(parse('push', 'q', '-').args.body).toBe('-')
  })

  it('a flag that takes a value takes the next word, even one that starts with "-"', () => {
    expect(parse('push', 'q', '--key', '-x', 'body').flags.key).toBe('-x')
    expect(parse('push', 'q', '-k', '--json', 'body').flags).toEqual({key: '--json'})
    expect(parse('push', 'q', '-bp', '3').flags).toEqual({batch: true, priority: 3})
    expect(parse('push', 'q', '--', '-body').args.body).toBe('-body')
  })

  it('a repeatable flag takes one value per use; the next word is an argument', () => {
    const p = parse('push', 'q', '--header', 'a=1', 'x', '-H', 'b=2')
    expect(p.flags.header).toEqual(['a=1', 'b=2'])
    expect(p.args.body).toBe('x')
  })

  it.each([
    [['push', 'q', '-p', '3', '-p', '4', 'x'], /--priority was given twice/],
    [['pop', 'q', '--lease', '1m', '--lease', '2m'], /--lease was given twice/],
    [['pop', 'q', '--leas', '1m'], /unknown flag --leas/],
    [['push', 'q', '--priority', '12', 'x'], /--priority: 12 is out of range \(0 to 9\)/],
    [['push', 'q', '--delay', '1m', '--at', '@0', 'x'], /--delay and --at cannot be given together/],
    [['push'], /missing QUEUE/],
    [['consume', 'a', 'b', '--exec', 'cat'], /unexpected argument "b"/],
    [['pop', 'q', '-o'], /--output needs a value/],
    [['pop', 'q', '--max-attempts', '3'], /the queue's setting now/],
    [['push', 'q', '--batch=yes'], /--batch takes no value/],
    [['push', 'q', '-5'], /unknown flag -5/],
    [['push', 'q', '-bz'], /unknown flag -z/],
  ])('%j is a usage error', (argv, message) => {
    const [verb, ...rest] = argv as [keyof typeof VERBS, ...string[]]
    expect(() => parseCommandLine(verb, rest)).toThrow(expect.objectContaining({exitCode: 64, message: expect.stringMatching(message)}))
  })

  it('suggests the nearest flag for a mistyped one', () => {
    expect(() => parse('pop', 'q', '--leas', '1m')).toThrow(expect.objectContaining({hint: 'did you mean --lease?'}))
    expect(unknownCommand(['pish'], ['push', 'pop', 'peek']).hint).toBe('did you mean "mq push"?')
    expect(unknownCommand(['xyzzy'], ['push', 'pop']).hint).toBe('see mq --help')
  })

  it("keeps consume's words after -- for the handler, flags included", () => {
    const p = parse('consume', 'q', '--exec', './h', '--', '--verbose', '-x')
    expect(p.rest).toEqual(['--verbose', '-x'])
    expect(p.flags.exec).toBe('./h')
  })

  it('oclif describes what the grammar declares (names, letters), for --help and completion', () => {
    for (const [Cmd, verb] of [[Push, 'push'], [Consume, 'consume']] as const) {
      expect(Object.keys(Cmd.flags).sort()).toEqual(Object.keys(VERBS[verb].flags).sort())
      for (const [name, f] of Object.entries(VERBS[verb].flags)) if (/^[a-z]$/i.test(f.char ?? '')) expect((Cmd.flags as Record<string, {char?: string}>)[name].char).toBe(f.char)
    }
  })
})
