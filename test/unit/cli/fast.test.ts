import {describe, expect, it} from 'vitest'

import {FAST_COMMANDS} from '../../../src/cli/fast.js'
import Ack from '../../../src/commands/ack.js'
import Nack from '../../../src/commands/nack.js'
import Pop from '../../../src/commands/pop.js'
import Push from '../../../src/commands/push.js'

const oclif = {ack: Ack, nack: Nack, pop: Pop, push: Push}

describe('the fast path reads the same flags as the oclif commands', () => {
  it.each(Object.keys(oclif))('%s', (name) => {
    const Cmd = oclif[name as keyof typeof oclif]
    // Hidden flags (--max-attempts, moved to mq config) are left to oclif, which explains them.
    const all = {...Cmd.baseFlags, ...Cmd.flags, json: {char: undefined, type: 'boolean'}} as Record<string, {char?: string; hidden?: boolean; type: string}>
    const flags = Object.fromEntries(Object.entries(all).filter(([, d]) => !d.hidden))
    const fast = FAST_COMMANDS[name].options
    expect(Object.keys(fast).sort()).toEqual(Object.keys(flags).sort())
    for (const [flag, def] of Object.entries(flags)) {
      // -0 is spelled --null for oclif (its short flags must be letters); the fast path takes -0 itself.
      const short = name === 'push' && flag === 'null' ? '0' : def.char
      expect(fast[flag].short, `${name} --${flag} short`).toBe(short)
      expect(fast[flag].type, `${name} --${flag} type`).toBe(def.type === 'boolean' ? 'boolean' : 'string')
    }
  })
})
