import {spawn} from 'node:child_process'
import {accessSync, closeSync, constants, mkdirSync, openSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {ioError} from '../errors.js'
import {writeStderr} from '../stdio.js'
import {type HandlerOutcome} from './decide.js'

export const STDERR_TAIL_BYTES = 2048

export interface HandlerRun {
  /** Settles when the handler and its process group have exited; never rejects. */
  done: Promise<HandlerOutcome>
  /** Sends SIGTERM to the handler's process group, then SIGKILL after killAfterMs. */
  stop(reason: 'shutdown' | 'timeout'): void
  /** SIGKILL to the process group at once. */
  kill(): void
}

export interface HandlerOptions {
  /** Program and arguments, run without a shell (a shell line is ['/bin/sh', '-c', LINE]). */
  argv: string[]
  /**
   * The body as an open file descriptor positioned at its first byte (see bodyStdin): the
   * handler's stdin. runHandler closes it once the handler has its own copy.
   */
  stdin: number
  env: NodeJS.ProcessEnv
  timeoutMs?: number
  /** Grace between SIGTERM and SIGKILL. */
  killAfterMs: number
  /** Where the handler's stdout goes: our stdout, our stderr, or a file (its stderr goes there too). */
  output: {file: string} | 'stderr' | 'stdout'
  /**
   * Where the handler's output goes when it is not a file, in whole lines (a last line without
   * its newline is given one): for a consumer that draws a status line on a terminal and must
   * clear it first. Absent: stdout is the handler's own (fd 1 or 2), stderr copied as it comes.
   */
  lines?: (fd: 1 | 2, text: Buffer) => void
}

/** Splits a stream's chunks into whole lines for `emit`; end() gives the rest a newline. */
function lineBuffer(emit: (text: Buffer) => void): {write(chunk: Buffer): void; end(): void} {
  let rest = Buffer.alloc(0)
  return {
    write(chunk) {
      const all = rest.length ? Buffer.concat([rest, chunk]) : chunk
      const cut = all.lastIndexOf(10) + 1
      if (cut > 0) emit(all.subarray(0, cut))
      rest = Buffer.from(all.subarray(cut))
    },
    end() {
      if (rest.length) emit(Buffer.concat([rest, Buffer.from('\n')]))
      rest = Buffer.alloc(0)
    },
  }
}

/** Makes the --log-dir directory (and its parents). */
export function prepareLogDir(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true})
  } catch (error) {
    throw ioError('mkdir', dir, error)
  }
}

/**
 * The descriptor of the handler's stdin, when the engine keeps the body in memory: a private
 * file holding it that has no name (so nothing is left behind whatever happens), positioned at
 * its first byte. An O_TMPFILE file (Linux), written with a positional write so the shared
 * offset stays at 0; where the file system has no O_TMPFILE, a file made with O_EXCL and
 * unlinked at once. In /dev/shm (memory) for a body up to 1 MiB, else in the temp directory:
 * making and removing a file on a disk's journal cost a worker ~0.5 ms a message (profiles of
 * `mq consume` on Redis and PostgreSQL), which the spool, handing over its own file, never pays.
 * The descriptor is open for reading and writing (O_TMPFILE needs write access); what a handler
 * writes to its stdin goes nowhere.
 */
const SHM_MAX = 1 << 20
const O_TMPFILE = 0o20200000 // Linux's __O_TMPFILE | O_DIRECTORY (node:fs does not export it)
let shm: boolean | undefined
let tmpfileWorks = process.platform === 'linux'
let tmpSeq = 0
export function bodyStdin(body: Uint8Array): number {
  shm ??= (() => {
    try {
      return statSync('/dev/shm').isDirectory() && (accessSync('/dev/shm', constants.W_OK), true)
    } catch {
      return false
    }
  })()
  const dir = shm && body.length <= SHM_MAX ? '/dev/shm' : tmpdir()
  let fd: number | undefined
  if (tmpfileWorks) {
    try {
      fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600)
    } catch (error) {
      // A kernel or file system without it (EOPNOTSUPP, EISDIR, EINVAL): named files from now
      // on. Anything else (EMFILE, ENOSPC...) is this body's failure, not the method's.
      if (!['EINVAL', 'EISDIR', 'EOPNOTSUPP'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
      tmpfileWorks = false
    }
  }
  if (fd === undefined) {
    const path = join(dir, `mq-body-${process.pid}-${tmpSeq++}`)
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    unlinkSync(path)
  }
  try {
    for (let off = 0; off < body.length; ) off += writeSync(fd, body, off, body.length - off, off)
  } catch (error) {
    closeSync(fd)
    throw error
  }
  return fd
}

/**
 * runHandler: run one handler for one message. Its stdin is the body as a file (never a pipe
 * written after it starts: the whole body is there from the first instant, even if the
 * consumer dies at once). Its stderr is copied through and its last 2 KiB kept for the
 * dead-letter reason. Its fd 3 (MQ_CONSUMER_FD) is a socket whose other end the consumer holds:
 * it reaches end-of-file when the consumer is gone, even after a kill -9, for handlers that
 * want to stop then. It runs in its own process group (detached), so a timeout or shutdown
 * reaches everything it started, and a Ctrl-C at the terminal reaches the consumer only, which
 * decides when handlers stop.
 */
export function runHandler(opts: HandlerOptions): HandlerRun {
  const started = Date.now()
  let tail = Buffer.alloc(0)
  let timedOut = false
  let killTimer: NodeJS.Timeout | undefined
  let logFd: number | undefined
  if (typeof opts.output === 'object') logFd = openSync(opts.output.file, 'a', 0o644)
  const outFd = opts.output === 'stderr' ? 2 : 1
  const lines = logFd === undefined ? opts.lines : undefined
  const stdoutTarget = logFd ?? (lines ? 'pipe' : outFd)
  const closeLog = () => {
    if (logFd !== undefined) closeSync(logFd)
    logFd = undefined
  }

  let child
  try {
    child = spawn(opts.argv[0], opts.argv.slice(1), {
      detached: true,
      env: {...opts.env, MQ_CONSUMER_FD: '3'},
      stdio: [opts.stdin, stdoutTarget, 'pipe', 'pipe'],
    })
  } finally {
    closeSync(opts.stdin) // the child has its own copy
  }
  const lifeline = child.stdio[3]

  const signalGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid, sig)
    } catch {
      // already gone
    }
  }

  const stop = (reason: 'shutdown' | 'timeout') => {
    if (reason === 'timeout') timedOut = true
    signalGroup('SIGTERM')
    killTimer ??= setTimeout(() => signalGroup('SIGKILL'), opts.killAfterMs)
  }

  const timeoutTimer = opts.timeoutMs ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined

  const done = new Promise<HandlerOutcome>((resolve) => {
    const finish = (o: Omit<HandlerOutcome, 'durationMs' | 'stderrTail'>) => {
      clearTimeout(timeoutTimer)
      clearTimeout(killTimer)
      resolve({...o, durationMs: Date.now() - started, stderrTail: tail.toString('utf8')})
    }
    child.on('error', (error) => {
      lifeline?.destroy()
      closeLog()
      finish({error: error.message, kind: 'error'})
    })
    child.on('close', (code, signal) => {
      lifeline?.destroy()
      // The group may outlive its leader; make sure nothing of this message keeps running.
      signalGroup('SIGKILL')
      if (timedOut) finish({kind: 'timeout', signal: signal ?? undefined, timeoutMs: opts.timeoutMs})
      else if (signal) finish({kind: 'signal', signal})
      else finish({code: code ?? 0, kind: 'exit'})
    })
  })

  const errLines = lines && lineBuffer((t) => lines(2, t))
  if (lines) {
    const outLines = lineBuffer((t) => lines(outFd, t))
    child.stdout!.on('data', (chunk: Buffer) => outLines.write(chunk))
    child.stdout!.on('close', () => outLines.end())
  }
  child.stderr!.on('data', (chunk: Buffer) => {
    if (errLines) errLines.write(chunk)
    else if (typeof opts.output !== 'object') writeStderr(chunk)
    else if (logFd !== undefined) {
      try {
        writeSync(logFd, chunk) // the log file gets stderr as well as stdout
      } catch {
        // a full disk must not stop the consumer
      }
    }
    tail = Buffer.concat([tail, chunk])
    if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES)
  })
  child.stderr!.on('close', () => {
    errLines?.end()
    closeLog()
  })

  lifeline?.on('error', () => {})
  return {done, kill: () => signalGroup('SIGKILL'), stop}
}
