import {type Backend} from '../backend.js'
import {openBackend} from '../backends/index.js'
import {NotSupportedError} from '../errors.js'
import {writeStderr} from '../stdio.js'

/**
 * The engine for a command line (oclif or the fast path): --url, else --spool, else $MQ_URL,
 * else the default spool. Notices (a quarantined file...) go to stderr. An engine whose
 * messages live in one process (memory:) is refused: every command is a process of its own.
 */
export async function openCliBackend(flags: {spool?: string; url?: string}, env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const url = flags.url ?? (flags.spool ? undefined : env.MQ_URL || undefined)
  const backend = await openBackend(url, {onNotice: (line) => writeStderr(line + '\n'), spool: flags.spool}, env)
  if (!backend.capabilities.shared) {
    await backend.close()
    throw new NotSupportedError(backend.kind, 'a command line (each command is a process of its own, and this engine keeps messages in one)')
  }
  return backend
}
