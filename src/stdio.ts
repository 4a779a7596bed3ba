import {createWriteStream} from 'node:fs'
import {type Readable, type Writable} from 'node:stream'

import {ioError, MqError} from './errors.js'
import {EXIT} from './exit-codes.js'
import {lazy} from './lazy.js'

/**
 * Writing data for the reader of stdout, and noticing when that reader has gone (a closed pipe:
 * `mq pop q | head -1`). Node reports a closed pipe as an 'error' event on process.stdout,
 * which would crash the process with a stack trace if nobody listened: guardStdio listens
 * (once, for stdout and stderr), and the writes here turn the error into OutputClosedError.
 */
export class OutputClosedError extends MqError {
  constructor(what: string) {
    super('output_closed', EXIT.IO, `${what}: the reader went away (broken pipe)`)
  }
}

let guarded = false
/** Never crash on a closed stdout or stderr; the writes that failed report it themselves. */
export function guardStdio(): void {
  if (guarded) return
  guarded = true
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
}

function closedPipe(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE'
}

/** Writes to stdout and resolves once the data was handed to the OS; a closed pipe rejects. */
export function writeStdout(data: string | Uint8Array): Promise<void> {
  guardStdio()
  return new Promise((resolve, reject) => {
    if (process.stdout.destroyed) return reject(new OutputClosedError('stdout'))
    process.stdout.write(data, (error) => (error ? reject(closedPipe(error) ? new OutputClosedError('stdout') : ioError('write', 'stdout', error)) : resolve()))
  })
}

/** Streams `src` to stdout (left open); a closed pipe rejects with OutputClosedError. */
export async function pipeToStdout(src: Readable): Promise<void> {
  guardStdio()
  try {
    await lazy.streamPromises().pipeline(src, process.stdout as Writable, {end: false})
  } catch (error) {
    throw closedPipe(error) ? new OutputClosedError('stdout') : ioError('write', 'stdout', error)
  }
}

/** Streams `src` into FILE (created or truncated); errors name the file. */
export async function pipeToFile(src: Readable, file: string): Promise<void> {
  try {
    await lazy.streamPromises().pipeline(src, createWriteStream(file))
  } catch (error) {
    throw ioError('write', file, error)
  }
}

/** Writes a line for people to stderr; a closed stderr is ignored (there is nobody to tell). */
export function writeStderr(line: string): void {
  guardStdio()
  if (!process.stderr.destroyed) process.stderr.write(line)
}
