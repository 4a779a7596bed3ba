import {Queue} from '../../src/queue.js'
import {MEMORY_CAPABILITIES, MemoryBackend} from '../../src/backends/memory/index.js'
import {behaviourSuite} from './suite.js'

// Peers are other instances on the same named store, in this process.
let n = 0
behaviourSuite({
  capabilities: MEMORY_CAPABILITIES,
  cliUrl: 'memory:',
  async fresh() {
    const name = `suite-${process.pid}-${n++}`
    return {open: async () => new Queue(new MemoryBackend(name))}
  },
  name: 'memory',
})
