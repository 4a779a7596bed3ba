import {spawnSync} from 'node:child_process'
import {closeSync, type Dir, fsyncSync, lstatSync, mkdirSync, opendirSync, openSync, readdirSync, renameSync, rmdirSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {ioError, isErrno} from '../errors.js'

/**
 * The few filesystem primitives the spool is built from. Synchronous on purpose: the spool's
 * work is many tiny metadata calls, where Node's sync calls run near C speed and awaited
 * fs.promises calls run 5-10x slower (TOOLCHAIN.md). Every failure becomes a SpoolIOError
 * naming the operation and the path.
 */

/**
 * fsync(2) a file or a directory by path: for a file, its data; for a directory, the entries
 * created or renamed in it.
 */
export function fsyncPath(path: string): void {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    fsyncSync(fd)
  } catch (error) {
    throw ioError('fsync', path, error)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * mkdir -p; when it created anything, the directories that gained an entry are returned so a
 * durable caller can fsync them (the parent of the first created one, and each created one).
 * Made level by level rather than with mkdirSync's recursive option, which spins forever
 * where mkdir answers ENOENT under an existing parent (procfs, some FUSE filesystems).
 */
export function ensureDir(dir: string): string[] {
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
      mkdirSync(d)
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw ioError('mkdir', d, error)
    }
    touched.push(d)
  }
  return touched
}

/** Names in a directory, unsorted; a missing directory is empty. */
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

/** The smallest name `depth` directory levels below dir: the oldest entry of a bucketed tree. */
export function firstEntry(dir: string, depth: number): string | undefined {
  for (const n of listSorted(dir)) {
    if (depth === 0) return n
    const found = firstEntry(join(dir, n), depth - 1)
    if (found) return found
  }
  return undefined
}

/**
 * Counts the entries `depth` directory levels below dir that `keep` accepts, streaming each
 * directory (opendir) instead of holding its names, so memory stays flat at any backlog.
 * Stops as soon as the count passes `limit`.
 */
export function countEntries(dir: string, depth: number, opts: {keep?: (name: string) => boolean; limit?: number} = {}): number {
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
          if (!opts.keep || opts.keep(e.name)) n++
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

export function moveFile(src: string, destDir: string, destName: string, created?: string[]): boolean {
  const dest = join(destDir, destName)
  for (let tries = 0; ; tries++) {
    try {
      renameSync(src, dest)
      return true
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw ioError('rename', `${src} -> ${dest}`, error)
      // ENOENT: either src is gone (lost the race) or destDir is missing.
      const made = tryEnsureDir(destDir, src)
      if (made === null) return false
      if (tries >= MOVE_RETRIES) throw ioError('rename', `${src} -> ${dest}`, Object.assign(new Error('destination directory kept being removed'), {code: 'EAGAIN'}))
      created?.push(...made)
    }
  }
}

/** ensureDir, but null when src has vanished meanwhile (so the caller reports a lost race). */
function tryEnsureDir(destDir: string, src: string): string[] | null {
  if (!lstatSync(src, {throwIfNoEntry: false})) return null
  return ensureDir(destDir)
}

/** rmdir an emptied bucket; a concurrent producer that just filed into it keeps it (ENOTEMPTY). */
export function removeEmptyDir(dir: string): void {
  try {
    rmdirSync(dir)
  } catch (error) {
    if (!isErrno(error, 'ENOTEMPTY', 'EEXIST', 'ENOENT', 'EBUSY')) throw ioError('rmdir', dir, error)
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
  const r = spawnSync('sync', ['-f', path], {stdio: 'ignore'})
  syncfsWorks = !r.error && r.status === 0
  return syncfsWorks
}

/** Replaces a small file durably: write a temp file, fsync it, rename it over, fsync the directory. */
export function replaceFileDurably(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, data)
  } catch (error) {
    throw ioError('write', tmp, error)
  }
  fsyncPath(tmp)
  try {
    renameSync(tmp, path)
  } catch (error) {
    throw ioError('rename', `${tmp} -> ${path}`, error)
  }
  fsyncPath(dirname(path))
}
