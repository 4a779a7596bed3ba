import {Queue} from '../../src/queue.js'
import {ALL_CAPABILITIES} from '../../src/backend.js'
import {SpoolBackend} from '../../src/backends/spool/index.js'
import {tempSpool} from '../support/helpers.js'
import {behaviourSuite} from './suite.js'

// Peers are other processes opening file:///SPOOL through the built library.
behaviourSuite({
  capabilities: ALL_CAPABILITIES,
  async fresh() {
    const dir = tempSpool()
    return {open: async () => new Queue(new SpoolBackend(dir)), url: `file://${dir}`}
  },
  name: 'spool',
})
