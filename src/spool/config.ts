import {join} from 'node:path'

import {type QueueConfig, type QueueConfigPatch} from '../backend.js'
import {ConfigError, ioError, isErrno} from '../errors.js'
import {DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS} from '../policy.js'
import {NotRegularFileError, readRegular, replaceFileDurably} from './fs.js'
import {QueueDirs} from './layout.js'
import {withQueueLock} from './lock.js'

/**
 * A queue's settings, kept in SPOOL/QUEUE/config.json: {"maxDepth", "maxAttempts", "leaseMs"},
 * each optional (absent: no bound, or the default of src/policy.ts).
 */
type Stored = Partial<QueueConfig>

export function configPath(q: QueueDirs): string {
  return join(q.root, 'config.json')
}

function readStored(q: QueueDirs): Stored {
  let text: string
  try {
    text = readRegular(configPath(q), 1 << 20).toString('utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR')) return {}
    if (error instanceof NotRegularFileError) throw new ConfigError(`${configPath(q)}: is a ${error.kind}, not a regular file`)
    throw ioError('read', configPath(q), error)
  }
  try {
    const c = JSON.parse(text) as Stored
    if (c && typeof c === 'object' && !Array.isArray(c)) return c
  } catch {
    // fall through
  }
  throw new ConfigError(`${configPath(q)}: not a JSON object`)
}

/** The queue's config with defaults filled in. A config that does not parse is a ConfigError (78). */
export function readQueueConfig(q: QueueDirs): QueueConfig {
  const s = readStored(q)
  return {
    leaseMs: positive(s.leaseMs) ?? DEFAULT_LEASE_MS,
    maxAttempts: positive(s.maxAttempts) ?? DEFAULT_MAX_ATTEMPTS,
    ...(positive(s.maxDepth) === undefined ? {} : {maxDepth: s.maxDepth}),
  }
}

function positive(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined
}

/**
 * updateQueueConfig: read-modify-write of config.json under a proper-lockfile lock (so two
 * `mq config` calls do not lose each other's change), written to a temp file and renamed
 * over the old one (readers see the old or the new file, never half of one). A key set to
 * null in the patch is removed. Returns the new config.
 */
export async function updateQueueConfig(q: QueueDirs, patch: QueueConfigPatch): Promise<QueueConfig> {
  return withQueueLock(q, 'config', () => {
    const next: Record<string, unknown> = {...readStored(q)}
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete next[k]
      else if (v !== undefined) next[k] = v
    }
    replaceFileDurably(configPath(q), JSON.stringify(next, null, 2) + '\n', q.perms)
    return readQueueConfig(q)
  })
}
