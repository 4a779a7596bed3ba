import {type Backend} from '../backend.js'
import {openBackend} from '../backends/index.js'
import {NotSupportedError} from '../errors.js'
import {writeStderr} from '../stdio.js'

/**
 * The verbs that hand a receipt from one process to another: pop prints one for a later
 * `mq ack` or `mq nack`, each a process of its own. consume settles its deliveries itself.
 */
const RECEIPT_VERBS = new Set(['ack', 'nack', 'pop'])

/** The hot verbs (the fast path's): an engine may open its lean connection (OpenOptions.lean). */
const LEAN_VERBS = new Set(['ack', 'consume', 'nack', 'pop', 'push'])

/**
 * The engine for a command line (oclif or the fast path): --url, else --spool, else $MQ_URL,
 * else the default spool. Notices (a quarantined file...) go to stderr. Every command is a
 * process of its own, so an engine whose messages live in one process (memory:) is refused for
 * all of them, and one whose receipts do not outlive the process that claimed is refused for
 * pop, ack and nack (78, one line naming mq consume as the way).
 */
export async function openCliBackend(flags: {spool?: string; url?: string}, verb: string, env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const url = flags.url ?? (flags.spool ? undefined : env.MQ_URL || undefined)
  // push may go through a relay (src/relay/) unless MQ_RELAY=off (or 0) says no process may outlive a command.
  const relay = verb === 'push' && !['off', '0'].includes(env.MQ_RELAY ?? '')
  const backend = await openBackend(url, {onNotice: (line) => writeStderr(line + '\n'), lean: LEAN_VERBS.has(verb), relay, spool: flags.spool}, env)
  const {portableReceipts, sharedMessages} = backend.capabilities
  if (!sharedMessages || (RECEIPT_VERBS.has(verb) && !portableReceipts)) {
    await backend.close()
    throw !sharedMessages
      ? new NotSupportedError(backend.kind, 'a command line (each command is a process of its own, and this engine keeps messages in one)')
      : new NotSupportedError(backend.kind, `mq ${verb} (a receipt of this engine settles only in the process that claimed it: use mq consume QUEUE --exec HANDLER)`)
  }
  return backend
}
