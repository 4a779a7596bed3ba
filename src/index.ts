/**
 * mq as a library: open an engine by URL, push, claim, settle, inspect, administer; run the
 * consume worker; catch the typed errors. The command line is a thin layer over the same calls.
 *
 *   import {open} from 'mq'
 *   const mq = await open('file:///var/spool/mq')        // or memory:, redis://..., postgres://...
 *   await mq.push('jobs', [{body: Buffer.from('hello')}])
 *   const d = await mq.claim('jobs', {waitMs: 30_000})
 *   if (d) { await work(d.body); await mq.ack('jobs', d.receipt) }
 *   await mq.close()
 */
import {type Backend} from './backend.js'
import {openBackend, type OpenOptions} from './backends/index.js'

export type * from './backend.js'
export {ALL_CAPABILITIES} from './backend.js'
export {type EngineEntry, type OpenOptions, registerEngine} from './backends/index.js'
export {MemoryBackend} from './backends/memory/index.js'
export {SpoolBackend} from './backends/spool/index.js'
export {type ConsumeEvent, type ConsumeOptions, type ConsumeSummary, Consumer} from './consume/worker.js'
export {decide, type HandlerOutcome, type RetryPolicy, type Verdict} from './consume/decide.js'
export * from './errors.js'
export {EXIT, type ExitCode} from './exit-codes.js'
export {DEFAULT_KEY_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, isExhausted, MAX_PRIORITY, priorityRank} from './policy.js'
export {validateQueueName} from './queue-name.js'
export {Queue} from './queue.js'

/**
 * Opens the engine a URL names (file:///path, memory:NAME, ...); without one, the default
 * spool ($MQ_SPOOL, else $XDG_STATE_HOME/mq, else ~/.local/state/mq).
 */
export function open(url?: string, opts: OpenOptions = {}): Promise<Backend> {
  return openBackend(url, opts)
}
