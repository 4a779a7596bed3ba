import {renameSync} from 'node:fs'
import {join} from 'node:path'

import {ConfigError, isErrno} from '../errors.js'
import {createFile, fsyncPath, listEntries, moveFile, NotRegularFileError, permsFor, readRegular, unlinkQuietly} from './fs.js'
import {QueueDirs} from './layout.js'
import {parseName} from './message-name.js'
import {curDir} from './paths.js'

/**
 * The spool's format version (man/mq-spool.5, FORMAT), in SPOOL/.mq-spool: "mq-spool 2\n".
 *
 *   1  (mq 0.1, no marker)  cur/NAME: claimed files flat in cur/; a receipt was the file name,
 *                           changed by every renewal
 *   2                       cur/B7/B10/NAME: claimed files in buckets of their lease deadline,
 *                           with a delivery token ("t") that renewals keep; keys are directories
 *
 * ensureFormat runs once per process and spool before the first change. A spool without a
 * marker is format 1 (or new): its flat cur/ files are moved into their buckets (one rename
 * each, keeping their names, so receipts printed by mq 0.1 still resolve), then the marker is
 * written. Several processes upgrading at once only race on renames (ENOENT: another did it).
 * A marker naming a later format is refused (78): that spool needs a newer mq.
 * Readers cope with both layouts (a flat cur/ file is a claim too), so a spool that a
 * read-only user looks at needs no upgrade.
 */
export const SPOOL_FORMAT = 2
export const MARKER = '.mq-spool'
const checked = new Set<string>()

export function ensureFormat(spool: string): void {
  if (checked.has(spool)) return
  const version = formatOf(spool)
  if (version > SPOOL_FORMAT) throw new ConfigError(`${spool}: a spool of format ${version}, made by a newer mq (this one reads format ${SPOOL_FORMAT} and older)`)
  if (version < SPOOL_FORMAT) upgrade(spool)
  checked.add(spool)
}

/** The format of a spool: its marker's number, 1 without one (mq 0.1 wrote none). */
export function formatOf(spool: string): number {
  let text: string
  try {
    text = readRegular(join(spool, MARKER), 4096).toString('utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR')) return 1
    if (error instanceof NotRegularFileError) throw new ConfigError(`${join(spool, MARKER)}: is a ${error.kind}, not a regular file`)
    throw error
  }
  const m = /^mq-spool (\d+)\n?$/.exec(text)
  if (!m) throw new ConfigError(`${join(spool, MARKER)}: not an mq spool marker (expected "mq-spool ${SPOOL_FORMAT}")`)
  return Number(m[1])
}

/** Format 1 to 2: every flat claimed file in cur/ into the bucket of its lease deadline. */
function upgrade(spool: string): void {
  for (const e of listEntries(spool)) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue
    let q: QueueDirs
    try {
      q = new QueueDirs(spool, e.name)
    } catch {
      continue // not a queue name: not a queue
    }
    upgradeCur(q)
  }
  writeMarker(spool)
}

/** Moves a queue's flat (format 1) claims into their buckets; returns how many. */
export function upgradeCur(q: QueueDirs): number {
  let n = 0
  for (const e of listEntries(q.cur)) {
    if (!e.isFile()) continue
    const m = parseName(e.name)
    if (!m || m.leaseUntil === undefined) continue // damage: the next reclaim quarantines it
    if (moveFile(join(q.cur, e.name), curDir(q, m.leaseUntil), e.name, undefined, q.perms)) n++
  }
  return n
}

/** Writes the marker durably (a temp file renamed into place); a spool we may not write is left as it is. */
function writeMarker(spool: string): void {
  const tmp = join(spool, `${MARKER}.${process.pid}.tmp`)
  try {
    unlinkQuietly(tmp)
    createFile(tmp, `mq-spool ${SPOOL_FORMAT}\n`, permsFor(spool), true)
    renameSync(tmp, join(spool, MARKER))
    fsyncPath(spool)
  } catch (error) {
    unlinkQuietly(tmp)
    const errno = (error as {errno?: string}).errno ?? (error as NodeJS.ErrnoException).code
    // No spool yet (the first queue makes it, and the marker then), or one we may not write.
    if (errno === 'ENOENT' || errno === 'EACCES' || errno === 'EROFS' || errno === 'EPERM') return
    throw error
  }
}

/** For a spool created now: it is born in the current format. */
export function markNewSpool(spool: string): void {
  writeMarker(spool)
  checked.add(spool)
}
