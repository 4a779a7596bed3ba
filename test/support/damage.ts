import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach} from 'vitest'

import {bucketsOf, timeHex} from '../../src/message-id.js'

/**
 * Real damage for the hardening tests: FIFOs, sockets, symlinks, small filesystems. Nothing
 * here is a mock: the files are made with the system's own tools.
 */

/** A message id from `msAgo` milliseconds ago (older than anything pushed since). */
export function oldId(msAgo = 60_000, node = '00000000000000ff'): string {
  return `${timeHex(Date.now() - msAgo)}0000-${node}`
}

/** The ready bucket directory of an id: SPOOL/Q/new/P/B7/B10. */
export function readyBucket(spool: string, q: string, id: string, priority = 0): string {
  return join(spool, q, 'new', String(priority), ...bucketsOf(id))
}

/** The delay bucket directory of a not-before time. */
export function delayBucket(spool: string, q: string, notBefore: number): string {
  return join(spool, q, 'delay', ...bucketsOf(timeHex(notBefore)))
}

export function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path])
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`)
}

/** A UNIX socket file left behind by a process that bound it and exited. */
export function mksock(path: string): void {
  const r = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path])
  if (r.status !== 0) throw new Error(`socket ${path}: ${r.stderr}`)
}

/** Every file under a directory with its content, for "nothing out there was touched". */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`)
      else out[rel + e.name] = e.isFile() ? readFileSync(join(d, e.name), 'utf8') : `<${e.isFIFO() ? 'fifo' : 'other'}>`
    }
  }
  walk(dir, '')
  return out
}

/** A directory outside the spool, with files a confused mq could move, read or delete. */
export function victimDir(names: string[]): string {
  const d = mkdtempSync(join(tmpdir(), 'mq-victim-'))
  made.push(d)
  for (const n of names) spawnSync('sh', ['-c', 'printf %s "$2" > "$1"', 'sh', join(d, n), `precious ${n}`])
  return d
}

const made: string[] = []
const mounts: string[] = []
afterEach(() => {
  for (const m of mounts.splice(0)) spawnSync('umount', ['-l', m])
  for (const d of made.splice(0)) rmSync(d, {force: true, recursive: true})
})

/**
 * A small tmpfs (this many bytes and inodes) for provoking ENOSPC, or the reason it cannot be
 * had here (not root, no mount permission): the test then reports itself skipped with it.
 */
export function smallFilesystem(bytes: number, inodes: number): {dir: string} | {skip: string} {
  if (process.getuid?.() !== 0) return {skip: 'mounting a small tmpfs needs root'}
  const dir = mkdtempSync(join(tmpdir(), 'mq-small-'))
  made.push(dir)
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},nr_inodes=${inodes},mode=0777`, 'tmpfs', dir])
  if (r.status !== 0) return {skip: `cannot mount a tmpfs here: ${String(r.stderr).trim()}`}
  mounts.unshift(dir)
  return {dir}
}

/**
 * Fills the filesystem holding `dir` with empty files until it runs out of inodes, then frees
 * `leave` of them; returns a function that frees the rest.
 */
export function fillInodes(dir: string, leave: number): () => void {
  const fill = join(dir, 'fill')
  mkdirSync(fill)
  const r = spawnSync('sh', ['-c', 'i=0; while touch "$1/f$i" 2>/dev/null; do i=$((i+1)); done; echo $i', 'sh', fill])
  const n = Number(String(r.stdout).trim())
  for (let i = n - 1; i >= n - leave && i >= 0; i--) rmSync(join(fill, `f${i}`))
  return () => rmSync(fill, {force: true, recursive: true})
}

/** Fills the filesystem holding `dir` with data until fewer than `leaveBytes` are free. */
export function fillBytes(dir: string, leaveBytes: number): () => void {
  const file = join(dir, 'fill.bin')
  spawnSync('sh', ['-c', 'cat /dev/zero > "$1" 2>/dev/null; true', 'sh', file])
  const size = statSync(file).size
  spawnSync('truncate', ['-s', String(Math.max(0, size - leaveBytes)), file])
  return () => rmSync(file, {force: true})
}

/** A user other than root to run mq as, where the machine has one. */
export function otherUser(): {gid: number; uid: number} | {skip: string} {
  if (process.getuid?.() !== 0) return {skip: 'switching users needs root'}
  const r = spawnSync('id', ['-u', 'nobody'])
  if (r.status !== 0) return {skip: 'no "nobody" user on this machine'}
  const uid = Number(String(r.stdout).trim())
  const gid = Number(String(spawnSync('id', ['-g', 'nobody']).stdout).trim())
  return {gid, uid}
}
