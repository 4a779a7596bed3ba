import {closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {dirname} from 'node:path'

import {ioError} from './errors.js'

/**
 * Writes a whole file so that a reader sees the old one or the new one, never half of either,
 * and the new one survives a crash once this returns: a temp file beside it (created
 * exclusively, never through a link), fsynced, renamed over the path (which replaces a link
 * itself, never its target), then the directory fsynced. For files mq writes outside any
 * engine (`stats --textfile`); the spool has its own, with its permissions (src/spool/fs.ts).
 */
export function writeFileAtomically(path: string, data: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`
  const quietly = () => {
    try {
      unlinkSync(tmp)
    } catch {
      // not there
    }
  }
  quietly() // a leftover of an earlier run that had this pid and crashed
  let fd: number
  try {
    fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, mode)
  } catch (error) {
    throw ioError('create', tmp, error)
  }
  try {
    const buf = Buffer.from(data)
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off)
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, path)
  } catch (error) {
    try {
      closeSync(fd)
    } catch {
      // closed already
    }
    quietly()
    throw ioError('write', path, error)
  }
  let dir: number | undefined
  try {
    dir = openSync(dirname(path), constants.O_RDONLY)
    fsyncSync(dir)
  } catch {
    // A directory that cannot be opened or synced (some filesystems): the rename stands.
  } finally {
    if (dir !== undefined) closeSync(dir)
  }
}
