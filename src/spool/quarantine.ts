import {renameSync} from 'node:fs'
import {basename, join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {createFile, ensureDir} from './fs.js'
import {QueueDirs} from './layout.js'

/** Called with a line for humans whenever something is quarantined; the CLI points it at stderr. */
export let onQuarantine: (line: string) => void = () => {}
export function setQuarantineLogger(fn: (line: string) => void): void {
  onQuarantine = fn
}

let seq = 0

/**
 * quarantine: move an entry that is not a valid part of the queue (a foreign file, a FIFO, a
 * symlink, a directory where a message should be, a file where a bucket should be...) out of
 * the queue's way, into bad/, with a `.reason` sidecar. Damage is set aside, never deleted and
 * never fatal (go-diskqueue's `.bad` files). rename(2) moves the entry itself: a symlink is
 * moved, never followed. The new name `<ms>-<pid>-<n>-<original>` is unique, so a repeat never
 * replaces an earlier quarantined entry.
 *
 * RACE: another process may quarantine (or claim) the same entry first; our rename then fails
 * with ENOENT and we do nothing. Returns whether this call moved it.
 */
export function quarantine(q: QueueDirs, path: string, reason: string): boolean {
  ensureDir(q.bad, q.perms)
  const name = `${Date.now()}-${process.pid}-${seq++}-${basename(path)}`.slice(0, 240)
  try {
    renameSync(path, join(q.bad, name))
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false
    throw ioError('quarantine', path, error)
  }
  try {
    createFile(join(q.bad, `${name}.reason`), `${reason}\nfrom: ${path}\n`, q.perms)
  } catch {
    // The entry is already out of the way; a missing reason is not worth failing for.
  }
  onQuarantine(`mq: ${q.name}: quarantined ${path}: ${reason} (now in ${q.bad})`)
  return true
}
