import {closeSync, constants, fstatSync, openSync, readSync, statSync, writeSync} from 'node:fs'

import {ioError, MqError} from './errors.js'
import {EXIT} from './exit-codes.js'

/**
 * Writing data for the reader of stdout (and of -o FILE), and noticing when that reader has
 * gone (a closed pipe: `mq pop q | head -1`).
 *
 * The data goes to file descriptor 1 with write(2), not through process.stdout: that would load
 * Node's stream machinery (milliseconds of start-up, README Performance) and, on a pipe, report
 * a closed reader later, as an 'error' event. With write(2) a closed pipe is EPIPE (Node ignores
 * SIGPIPE) where it happens, and becomes OutputClosedError (74). A descriptor inherited in
 * non-blocking mode answers EAGAIN when its pipe is full: the write waits a millisecond and
 * goes on. Bodies are copied from descriptor to descriptor through one buffer: memory stays
 * flat for any size.
 */
export class OutputClosedError extends MqError {
  constructor(what: string) {
    super('output_closed', EXIT.IO, `${what}: the reader went away (broken pipe)`)
  }
}

/**
 * Whether stdout leads nowhere: closed (`>&-`: Node opens /dev/null in its place at start-up, so
 * the two look alike) or /dev/null. A command whose output is what keeps a promise (pop's
 * receipt) refuses before acting rather than act and lose it.
 */
export function stdoutIsNowhere(): boolean {
  if (sink) return false
  try {
    const out = fstatSync(1)
    const nul = statSync('/dev/null')
    return out.isCharacterDevice() && out.rdev === nul.rdev
  } catch {
    return false
  }
}

/** Where stdout data goes instead of fd 1, for tests that run commands in process. */
let sink: ((data: Buffer) => void) | undefined
export function setStdoutSink(fn: ((data: Buffer) => void) | undefined): void {
  sink = fn
}

const pause = new Int32Array(new SharedArrayBuffer(4))

/** write(2) all of buf to fd, waiting out EAGAIN; a closed pipe is OutputClosedError. */
function writeAllTo(fd: number, buf: Uint8Array, what: string): void {
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off, buf.length - off)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1)
        continue
      }
      if (code === 'EPIPE') throw new OutputClosedError(what)
      throw ioError('write', what, error)
    }
  }
}

/** Writes data to stdout, whole, before it returns (a closed reader: OutputClosedError). */
export function writeStdoutSync(data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (sink) return sink(Buffer.from(buf))
  writeAllTo(1, buf, 'stdout')
}

export async function writeStdout(data: string | Uint8Array): Promise<void> {
  writeStdoutSync(data)
}

/** Copies what remains to be read from descriptor `from` to stdout. */
export function copyToStdout(from: number): void {
  copy(from, (chunk) => writeStdoutSync(chunk))
}

/** Copies what remains to be read from descriptor `from` into FILE (created or truncated, 0666 less the umask). */
export function copyToFile(from: number, file: string): void {
  intoFile(file, (to) => copy(from, (chunk) => writeAllTo(to, chunk, file)))
}

/** Writes bytes into FILE (created or truncated). */
export function writeFileOut(data: Uint8Array, file: string): void {
  intoFile(file, (to) => writeAllTo(to, data, file))
}

/** Opens FILE for writing (created or truncated, 0666 less the umask), runs write, closes it. */
function intoFile(file: string, write: (fd: number) => void): void {
  let to: number
  try {
    to = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o666)
  } catch (error) {
    throw ioError('open', file, error)
  }
  try {
    write(to)
  } finally {
    closeSync(to)
  }
}

const chunk = Buffer.allocUnsafe(256 * 1024)

function copy(from: number, write: (b: Buffer) => void): void {
  for (;;) {
    let n: number
    try {
      n = readSync(from, chunk, 0, chunk.length, null)
    } catch (error) {
      throw ioError('read', 'message body', error)
    }
    if (n === 0) return
    write(chunk.subarray(0, n))
  }
}

/** Writes a line for people to stderr; a closed stderr is ignored (there is nobody to tell). */
export function writeStderr(line: string | Uint8Array): void {
  try {
    if (sink) process.stderr.write(line)
    else writeAllTo(2, typeof line === 'string' ? Buffer.from(line) : line, 'stderr')
  } catch {
    // nobody is reading
  }
}

let guarded = false
/**
 * For code that does use process.stdout or process.stderr (oclif's output, ora): a closed pipe
 * there is an 'error' event that would crash the process with a stack trace if nobody listened.
 */
export function guardStdio(): void {
  if (guarded) return
  guarded = true
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
}

/**
 * Resolves on the first SIGINT or SIGTERM, for a command that runs until interrupted (stats
 * --watch, dashboard) and then exits 0; dispose() removes the handlers. They are `on`, not
 * `once`: a once-listener is removed before it runs, and signal-exit (which proper-lockfile
 * loads, for a purge) would then find itself alone and kill the process with the signal.
 */
export function untilInterrupted(): {interrupted: Promise<void>; dispose(): void} {
  let stop = () => {}
  const interrupted = new Promise<void>((resolve) => (stop = resolve))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  return {
    dispose() {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    },
    interrupted,
  }
}
