import {describe, expect, it} from 'vitest'

import {openCliBackend} from '../../src/cli/open-backend.js'
import {ALL_CAPABILITIES, type Driver, MemoryBackend, NotSupportedError, registerEngine} from '../../src/index.js'

/**
 * An engine that shares messages between processes but binds a receipt to the process that
 * claimed it (as RabbitMQ binds a delivery to its channel): the command line must take push,
 * consume and the inspections on it, and refuse pop, ack and nack with one line naming consume.
 */
function boundReceipts(): Driver {
  const b = new MemoryBackend('bound')
  Object.defineProperty(b, 'capabilities', {value: {...ALL_CAPABILITIES, portableReceipts: false, sharedMessages: true}})
  return b
}

describe('capabilities the command line checks per verb', () => {
  registerEngine({example: 'bound://', open: async () => boundReceipts(), schemes: ['bound:']})

  it.each(['push', 'consume', 'stats', 'peek', 'purge'])('%s runs on an engine whose receipts stay in their process', async (verb) => {
    const b = await openCliBackend({url: 'bound://x'}, verb)
    expect(b.capabilities.portableReceipts).toBe(false)
    await b.close()
  })

  it.each(['pop', 'ack', 'nack'])('%s is not supported there: 78, naming mq consume', async (verb) => {
    const error = await openCliBackend({url: 'bound://x'}, verb).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotSupportedError)
    expect(error).toMatchObject({exitCode: 78, message: expect.stringMatching(new RegExp(`^mq ${verb} .*use mq consume QUEUE --exec HANDLER\\): not supported by the memory engine$`))})
  })

  it('an engine whose messages live in one process is refused for every verb', async () => {
    for (const verb of ['push', 'consume', 'stats']) await expect(openCliBackend({url: 'memory:'}, verb)).rejects.toBeInstanceOf(NotSupportedError)
  })
})
