import {renameSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {isErrno} from '../errors.js'
import {ensureDir} from './fs.js'
import {QueueDirs} from './layout.js'

/** Called with a line for humans whenever something is quarantined; the CLI points it at stderr. */
export let onQuarantine: (line: string) => void = () => {}
export function setQuarantineLogger(fn: (line: string) => void): void {
  onQuarantine = fn
}

/**
 * quarantine: move a file (or directory) that is not a valid message out of the queue's way,
 * into bad/, with a `.reason` sidecar. Damage is set aside, never deleted and never fatal
 * (go-diskqueue's `.bad` files). The new name is `<ms>-<original name>` so repeats do not collide.
 *
 * RACE: another process may quarantine the same file first; our rename then fails with
 * ENOENT and we do nothing. Returns whether this call moved it.
 */
export function quarantine(q: QueueDirs, path: string, reason: string): boolean {
  ensureDir(q.bad)
  const name = `${Date.now()}-${basename(path)}`.slice(0, 240)
  try {
    renameSync(path, join(q.bad, name))
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false
    throw error
  }
  try {
    writeFileSync(join(q.bad, `${name}.reason`), `${reason}\nfrom: ${path}\n`)
  } catch {
    // The file is already out of the way; a missing reason is not worth failing for.
  }
  onQuarantine(`mq: ${q.name}: quarantined ${path}: ${reason} (now in ${q.bad})`)
  return true
}
