import {join} from 'node:path'

import {ConfigError, ioError, isErrno} from '../errors.js'
import {NotRegularFileError, readRegular, replaceFileDurably} from './fs.js'
import {QueueDirs} from './layout.js'
import {withQueueLock} from './lock.js'

/** A queue's settings, kept in SPOOL/QUEUE/config.json. Absent keys mean "no limit" / defaults. */
export interface QueueConfig {
  /** Pushes that would make ready + delayed + in-flight exceed this fail with "queue full". */
  maxDepth?: number
}

export function configPath(q: QueueDirs): string {
  return join(q.root, 'config.json')
}

/** The queue's config; {} when it has none. A config that does not parse is a ConfigError (78). */
export function readQueueConfig(q: QueueDirs): QueueConfig {
  let text: string
  try {
    text = readRegular(configPath(q), 1 << 20).toString('utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR')) return {}
    if (error instanceof NotRegularFileError) throw new ConfigError(`${configPath(q)}: is a ${error.kind}, not a regular file`)
    throw ioError('read', configPath(q), error)
  }
  try {
    const c = JSON.parse(text) as QueueConfig
    if (c && typeof c === 'object') return c
  } catch {
    // fall through
  }
  throw new ConfigError(`${configPath(q)}: not a JSON object`)
}

/**
 * updateQueueConfig: read-modify-write of config.json under a proper-lockfile lock (so two
 * `mq config` calls do not lose each other's change), written to a temp file and renamed
 * over the old one (readers see the old or the new file, never half of one). A key set to
 * undefined in the patch is removed. Returns the new config.
 */
export async function updateQueueConfig(q: QueueDirs, patch: Partial<Record<keyof QueueConfig, number | undefined>>): Promise<QueueConfig> {
  return withQueueLock(q, 'config', () => {
    const next: Record<string, unknown> = {...readQueueConfig(q)}
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k]
      else next[k] = v
    }
    replaceFileDurably(configPath(q), JSON.stringify(next, null, 2) + '\n', q.perms)
    return next as QueueConfig
  })
}
