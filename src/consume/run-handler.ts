import {spawn} from 'node:child_process'
import {closeSync, openSync, writeSync} from 'node:fs'

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
  body: Uint8Array
  env: NodeJS.ProcessEnv
  timeoutMs?: number
  /** Grace between SIGTERM and SIGKILL. */
  killAfterMs: number
  /** Where the handler's stdout goes: our stdout, our stderr, or a file (its stderr goes there too). */
  output: {file: string} | 'stderr' | 'stdout'
}

/**
 * runHandler: run one handler for one message. The body is written to its stdin; its stderr
 * is copied through and its last 2 KiB kept for the dead-letter reason. It runs in its own
 * process group (detached), so a timeout or shutdown reaches everything it started, and a
 * Ctrl-C at the terminal reaches the consumer only, which decides when handlers stop.
 */
export function runHandler(opts: HandlerOptions): HandlerRun {
  const started = Date.now()
  let tail = Buffer.alloc(0)
  let timedOut = false
  let killTimer: NodeJS.Timeout | undefined
  let logFd: number | undefined
  if (typeof opts.output === 'object') logFd = openSync(opts.output.file, 'a', 0o644)
  const stdoutTarget = logFd ?? (opts.output === 'stderr' ? 2 : 1)
  const closeLog = () => {
    if (logFd !== undefined) closeSync(logFd)
    logFd = undefined
  }

  const child = spawn(opts.argv[0], opts.argv.slice(1), {
    detached: true,
    env: opts.env,
    stdio: ['pipe', stdoutTarget, 'pipe'],
  })

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
      closeLog()
      finish({error: error.message, kind: 'error'})
    })
    child.on('close', (code, signal) => {
      // The group may outlive its leader; make sure nothing of this message keeps running.
      signalGroup('SIGKILL')
      if (timedOut) finish({kind: 'timeout', signal: signal ?? undefined, timeoutMs: opts.timeoutMs})
      else if (signal) finish({kind: 'signal', signal})
      else finish({code: code ?? 0, kind: 'exit'})
    })
  })

  child.stderr!.on('data', (chunk: Buffer) => {
    if (typeof opts.output !== 'object') process.stderr.write(chunk)
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
  child.stderr!.on('close', closeLog)

  // EPIPE when the handler does not read its stdin is fine.
  child.stdin!.on('error', () => {})
  child.stdin!.end(opts.body)

  return {done, kill: () => signalGroup('SIGKILL'), stop}
}
