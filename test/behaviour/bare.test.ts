import {type Capabilities} from '../../src/backend.js'
import {MemoryBackend} from '../../src/backends/memory/index.js'
import {Queue} from '../../src/queue.js'
import {behaviourSuite} from './suite.js'

/**
 * The behaviour suite over a test engine that declares none of the optional capabilities:
 * every "… is not supported …" test runs here. The engine under it is the memory engine,
 * which can do all of them, so each of those tests proves that the queue layer refuses what an
 * engine does not declare before the engine is asked (it would otherwise answer, wrongly for
 * an engine that cannot).
 */
const NONE: Capabilities = {
  blockingWait: false,
  delays: false,
  expiry: false,
  inspect: false,
  keepsDone: false,
  keys: false,
  listing: false,
  maxDepth: false,
  pause: false,
  portableReceipts: false,
  priorities: false,
  sharedMessages: false,
  topics: false,
}

class BareEngine extends MemoryBackend {
  override readonly capabilities = NONE
  override readonly kind: string = 'bare'
}

let n = 0
behaviourSuite({
  capabilities: NONE,
  async fresh() {
    const name = `bare-${process.pid}-${n++}`
    return {open: async () => new Queue(new BareEngine(name))}
  },
  name: 'bare',
})
