import {
  chmodSync,
  closeSync,
  constants,
  type Dirent,
  type Dir,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  opendirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {dirname, join} from 'node:path'

import {ioError, isErrno} from '../errors.js'
import {lazy} from '../lazy.js'

/**
 * The few filesystem primitives the spool is built from. Synchronous on purpose: the spool's
 * work is many tiny metadata calls, where Node's sync calls run near C speed and awaited
 * fs.promises calls run 5-10x slower (TOOLCHAIN.md). Every failure becomes a SpoolIOError
 * naming the operation and the path.
 *
 * Three rules hold for everything here (man/mq-spool.5, SECURITY):
 * - Nothing that is read can block: files are opened O_NONBLOCK and their type checked, so a
 *   FIFO planted in a queue is reported, never waited on.
 * - Nothing inside a spool is followed: files are opened O_NOFOLLOW, directories are walked by
 *   the types readdir reports (a symlink is a symlink, not its target), and rename/unlink act
 *   on the link itself.
 * - What mq creates is private to its owner (0700/0600), or shared with the spool root's
 *   group when the root is group-writable (see Perms).
 */

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/** File and directory modes for one spool: private, or group-shared (see permsFor). */
export interface Perms {
  dir: number
  file: number
  /** Group mode: modes are set explicitly after creation, since the umask (often 022) would drop g+w. */
  group: boolean
}

export const PRIVATE: Perms = {dir: 0o700, file: 0o600, group: false}
const GROUP: Perms = {dir: 0o2770, file: 0o660, group: true}
const permsCache = new Map<string, Perms>()

/**
 * The modes for what mq creates under `root`: private (0700 directories, 0600 files) unless the
 * root itself is group-writable (`install -d -m 2770 -g GROUP SPOOL`), in which case queues are
 * shared with that group (2770 / 0660). Nothing is ever made readable by others. Read once per
 * process and root.
 */
export function permsFor(root: string): Perms {
  let p = permsCache.get(root)
  if (!p) {
    const st = statSync(root, {throwIfNoEntry: false})
    p = st && (st.mode & 0o070) === 0o070 ? GROUP : PRIVATE
    permsCache.set(root, p)
  }
  return p
}

/**
 * fsync(2) a file or a directory by path: for a file, its data; for a directory, the entries
 * created or renamed in it.
 */
export function fsyncPath(path: string): void {
  let fd: number | undefined
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
    fsyncSync(fd)
  } catch (error) {
    throw ioError('fsync', path, error)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * mkdir -p with the spool's modes; the directories that gained an entry are returned so a
 * durable caller can fsync them (the parent of the first created one, and each created one).
 * Made level by level rather than with mkdirSync's recursive option, which spins forever
 * where mkdir answers ENOENT under an existing parent (procfs, some FUSE filesystems).
 * An existing path component that is not a directory is ENOTDIR.
 */
export function ensureDir(dir: string, perms: Perms = PRIVATE): string[] {
  const missing: string[] = []
  for (let d = dir; ; d = dirname(d)) {
    let st
    try {
      st = statSync(d, {throwIfNoEntry: false})
    } catch (error) {
      throw ioError('mkdir', dir, error)
    }
    if (st) {
      if (!st.isDirectory()) throw ioError('mkdir', dir, Object.assign(new Error(`not a directory: ${d}`), {code: 'ENOTDIR'}))
      break
    }
    missing.push(d)
    if (dirname(d) === d) break
  }
  if (missing.length === 0) return []
  const touched = [dirname(missing.at(-1)!)]
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, perms.dir)
      if (perms.group) chmodSync(d, perms.dir)
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw ioError('mkdir', d, error)
    }
    touched.push(d)
  }
  return touched
}

/** Names in a directory, unsorted; a missing directory (or a non-directory) is empty. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR')) return []
    throw ioError('readdir', dir, error)
  }
}

/** Names in a directory, sorted as strings (ids and bucket names sort by time). */
export function listSorted(dir: string): string[] {
  return listDir(dir).sort()
}

/** Entries with their types (as readdir reports them: a symlink is a symlink), sorted by name. */
export function listEntries(dir: string): Dirent[] {
  let entries: Dirent[]
  try {
    entries = readdirSync(dir, {withFileTypes: true})
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR')) return []
    throw ioError('readdir', dir, error)
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** What kind of entry a Dirent or Stats is, in words, for quarantine reasons. */
export function kindOf(e: Dirent | Stats): string {
  if (e.isFile()) return 'regular file'
  if (e.isDirectory()) return 'directory'
  if (e.isSymbolicLink()) return 'symbolic link'
  if (e.isFIFO()) return 'FIFO'
  if (e.isSocket()) return 'socket'
  return 'device'
}

/** A file that is not a regular file where one must be (a FIFO, a symlink, a directory...). */
export class NotRegularFileError extends Error {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path}: is a ${kind}, not a regular file`)
  }
}

/**
 * Opens a regular file for reading without following a symlink and without blocking on a
 * FIFO; anything else is NotRegularFileError (ENOENT is thrown as is). Returns the fd and size.
 */
export function openRegular(path: string): {fd: number; size: number} {
  let fd: number
  try {
    fd = openSync(path, READ_FLAGS)
  } catch (error) {
    if (isErrno(error, 'ELOOP')) throw new NotRegularFileError(path, 'symbolic link')
    throw error
  }
  let st: Stats
  try {
    st = fstatSync(fd)
  } catch (error) {
    closeSync(fd)
    throw error
  }
  if (!st.isFile()) {
    closeSync(fd)
    throw new NotRegularFileError(path, kindOf(st))
  }
  return {fd, size: st.size}
}

/**
 * The contents of a regular file (see openRegular), at most maxBytes (more is an error: a
 * record or a config that large is not one mq wrote). ENOENT is thrown as is.
 */
export function readRegular(path: string, maxBytes = 1 << 20): Buffer {
  const {fd, size} = openRegular(path)
  if (size > maxBytes) {
    closeSync(fd)
    throw new NotRegularFileError(path, `file of ${size} bytes (more than ${maxBytes})`)
  }
  return readAndClose(fd, size)
}

/** Up to `size` bytes from fd's current position (fewer if the file ends first); closes fd. */
export function readAndClose(fd: number, size: number): Buffer {
  try {
    const buf = Buffer.allocUnsafe(size)
    let off = 0
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, null)
      if (n === 0) break
      off += n
    }
    return buf.subarray(0, off)
  } finally {
    closeSync(fd)
  }
}

/**
 * Creates `path` exclusively (O_EXCL: never over an existing file or through a symlink) with
 * the spool's file mode, writes `data`, optionally fsyncs, closes. On failure the partial file
 * is removed and the error thrown as a SpoolIOError.
 */
export function createFile(path: string, data: Uint8Array | string, perms: Perms = PRIVATE, fsync = false): void {
  let fd: number
  try {
    fd = openSync(path, CREATE_FLAGS, perms.file)
  } catch (error) {
    throw ioError('create', path, error)
  }
  try {
    if (perms.group) fchmodSync(fd, perms.file)
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off)
    if (fsync) fsyncSync(fd)
    closeSync(fd)
  } catch (error) {
    closeSync(fd)
    unlinkQuietly(path)
    throw ioError('write', path, error)
  }
}

/** Opens a new file exclusively for writing (see createFile); the caller writes and closes. */
export function openExclusive(path: string, perms: Perms = PRIVATE): number {
  let fd: number
  try {
    fd = openSync(path, CREATE_FLAGS, perms.file)
  } catch (error) {
    throw ioError('create', path, error)
  }
  if (perms.group) fchmodSync(fd, perms.file)
  return fd
}

/** The smallest name `depth` directory levels below dir: the oldest entry of a bucketed tree. */
export function firstEntry(dir: string, depth: number): string | undefined {
  for (const e of listEntries(dir)) {
    if (depth === 0) {
      if (e.isFile()) return e.name
      continue
    }
    if (!e.isDirectory()) continue
    const found = firstEntry(join(dir, e.name), depth - 1)
    if (found) return found
  }
  return undefined
}

/**
 * Counts the entries `depth` directory levels below dir that `keep` accepts, streaming each
 * directory (opendir) instead of holding its names, so memory stays flat at any backlog.
 * Only real directories are descended into (never a symlink), and only regular files are
 * counted unless anyType. Stops once the count passes `limit`.
 */
export function countEntries(dir: string, depth: number, opts: {anyType?: boolean; keep?: (name: string) => boolean; limit?: number} = {}): number {
  const limit = opts.limit ?? Number.POSITIVE_INFINITY
  let n = 0
  const visit = (d: string, level: number): void => {
    let handle: Dir
    try {
      handle = opendirSync(d, {bufferSize: 256})
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return
      throw ioError('opendir', d, error)
    }
    try {
      for (let e = handle.readSync(); e && n <= limit; e = handle.readSync()) {
        if (level === 0) {
          if ((opts.anyType || e.isFile()) && (!opts.keep || opts.keep(e.name))) n++
        } else if (e.isDirectory()) visit(join(d, e.name), level - 1)
      }
    } finally {
      handle.closeSync()
    }
  }
  visit(dir, depth)
  return n
}

/**
 * rename(2) src to destDir/destName, creating destDir if it is missing.
 * Returns false when src is gone: another process moved it first (the caller lost a race).
 * RACE: a consumer may rmdir an emptied bucket between our mkdir and our rename; the rename
 * then fails with ENOENT while src still exists, and we make the directory again. Only if that
 * happens MOVE_RETRIES times in a row (a process removing the directory in a loop) is it an
 * error, and then an I/O error: src is still there, so it is not reported as a lost race.
 */
export const MOVE_RETRIES = 1000

export function moveFile(src: string, destDir: string, destName: string, created?: string[], perms: Perms = PRIVATE): boolean {
  const dest = destDir + '/' + destName
  for (let tries = 0; ; tries++) {
    try {
      renameSync(src, dest)
      return true
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw ioError('rename', `${src} -> ${dest}`, error)
      // ENOENT: either src is gone (lost the race) or destDir is missing.
      if (!lstatSync(src, {throwIfNoEntry: false})) return false
      if (tries >= MOVE_RETRIES) throw ioError('rename', `${src} -> ${dest}`, Object.assign(new Error('destination directory kept being removed'), {code: 'EAGAIN'}))
      const made = ensureDir(destDir, perms)
      created?.push(...made)
    }
  }
}

/**
 * rmdir an emptied bucket. A concurrent producer that just filed into it keeps it (ENOTEMPTY);
 * something that is no longer a directory is not ours to remove (ENOTDIR).
 */
export function removeEmptyDir(dir: string): void {
  try {
    rmdirSync(dir)
  } catch (error) {
    if (!isErrno(error, 'ENOTEMPTY', 'EEXIST', 'ENOENT', 'EBUSY', 'ENOTDIR')) throw ioError('rmdir', dir, error)
  }
}

let syncfsWorks: boolean | undefined

/**
 * syncfs(2) the filesystem holding `path` (through coreutils' `sync -f`, since Node has no
 * binding): every file written before it is on disk when it returns. One call replaces a
 * batch's worth of per-file fsyncs. Returns false when it is not available (no `sync -f`),
 * in which case the caller fsyncs file by file; the answer is remembered per process.
 */
export function syncFilesystem(path: string): boolean {
  if (syncfsWorks === false) return false
  const r = lazy.childProcess().spawnSync('sync', ['-f', path], {stdio: 'ignore'})
  syncfsWorks = !r.error && r.status === 0
  return syncfsWorks
}

/**
 * Replaces a small file durably: write a temp file exclusively, fsync it, rename it over the
 * old one (which replaces a symlink itself, never its target), fsync the directory.
 */
export function replaceFileDurably(path: string, data: string, perms: Perms = PRIVATE): void {
  const tmp = `${path}.${process.pid}.tmp`
  unlinkQuietly(tmp) // our own leftover from a crashed earlier run with the same pid
  createFile(tmp, data, perms, true)
  try {
    renameSync(tmp, path)
  } catch (error) {
    unlinkQuietly(tmp)
    throw ioError('rename', `${tmp} -> ${path}`, error)
  }
  fsyncPath(dirname(path))
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}

/**
 * The filesystem's clock: the mtime a file made in dir now gets (a probe, created and removed).
 * Ages of files (done/ entries, abandoned tmp/ files) are read against this, not against this
 * process's clock: on a shared filesystem the stamps come from the file server, and a client's
 * clock may be minutes off. Where no probe can be made (a read-only directory), this process's.
 */
export function filesystemNow(dir: string): number {
  const probe = join(dir, `.clock.${process.pid}.${lazy.crypto().randomBytes(4).toString('hex')}`)
  let fd: number
  try {
    fd = openSync(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600)
  } catch {
    return Date.now()
  }
  try {
    return fstatSync(fd).mtimeMs
  } finally {
    closeSync(fd)
    unlinkQuietly(probe)
  }
}
