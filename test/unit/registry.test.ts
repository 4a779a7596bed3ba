import {describe, expect, it} from 'vitest'

import {MemoryBackend, open, registerEngine} from '../../src/index.js'

describe('engines register themselves by URL scheme', () => {
  it('an engine registered from outside opens by its scheme, with no list inside mq to edit', async () => {
    const opened: string[] = []
    registerEngine({
      example: 'custom://NAME',
      async open(url, parsed) {
        opened.push(url)
        return new MemoryBackend(`custom-${parsed.host}`)
      },
      schemes: ['custom:'],
    })
    const b = await open('custom://one')
    expect(b.kind).toBe('memory')
    expect(opened).toEqual(['custom://one'])
    await b.push('q', [{body: Buffer.from('x')}])
    expect((await (await open('custom://one')).claim('q'))?.body.toString()).toBe('x') // same store
  })

  it('an unknown scheme is 78 naming every registered one; a bad scheme cannot be registered', async () => {
    await expect(open('nosuch://x')).rejects.toMatchObject({exitCode: 78, message: expect.stringMatching(/unsupported backend URL scheme nosuch: \(supported: file:, memory:, redis:, rediss:, postgres:, postgresql:, amqp:, amqps:/)})
    expect(() => registerEngine({example: 'x', open: async () => new MemoryBackend(), schemes: ['nocolon']})).toThrow(/not a URL scheme/)
  })
})
