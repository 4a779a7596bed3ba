import {MqError, ioError} from '../errors.js'
import {EXIT} from '../exit-codes.js'
import {writeStderr} from '../stdio.js'

/**
 * The one place where an error becomes an exit status and one line on stderr (or a small
 * JSON object under --json). Typed errors keep their status; oclif's parse errors become
 * usage errors (64); fs errors become I/O errors; anything else is a bug (70). Used by the
 * oclif base command and by the fast path alike, so both answer the same way.
 */
export function reportError(err: Error, json: boolean): number {
  const mapped = toMqError(err as Error & {oclif?: {exit?: number}})
  // oclif prefixes errors thrown by a flag's parse() with "Parsing --flag" lines.
  const message = mapped.message.includes('\n') ? usageLine(mapped.message) : mapped.message
  process.exitCode = mapped.exitCode
  if (json) {
    writeStderr(JSON.stringify({error: {code: mapped.code, exitCode: mapped.exitCode, message}}) + '\n')
  } else {
    writeStderr(`mq: ${message}${mapped.hint ? ` (${mapped.hint})` : ''}\n`)
  }
  if (mapped.exitCode === EXIT.SOFTWARE && process.env.MQ_DEBUG) writeStderr(`${err.stack}\n`)
  return mapped.exitCode
}

function toMqError(err: Error & {oclif?: {exit?: number}}): MqError {
  if (err instanceof MqError) return err
  if ('parse' in err || err.constructor?.name?.endsWith('ParseError') || err.message?.startsWith('Parsing --')) {
    return new MqError('usage', EXIT.USAGE, usageLine(err.message), 'see --help')
  }
  if (err.oclif?.exit !== undefined && err.oclif.exit !== 1 && err.oclif.exit !== 2)
    return new MqError('exit', err.oclif.exit as typeof EXIT.OK, firstLine(err.message))
  const e = err as NodeJS.ErrnoException
  const io = ioError(String(e.syscall ?? 'operation'), String(e.path ?? ''), err)
  if (io instanceof MqError) return io
  return new MqError('internal', EXIT.SOFTWARE, `internal error: ${firstLine(err.message)}`, 'set MQ_DEBUG=1 for a stack trace')
}

/** oclif's parse errors span lines ("Parsing --lease", a tab, the reason, "See more help"): make one. */
function usageLine(s: string): string {
  let prefix = ''
  const out: string[] = []
  for (const raw of s.split('\n')) {
    const l = raw.trim()
    const flag = /^Parsing (--\S+)$/.exec(l)
    if (flag) prefix = flag[1] + ': '
    else if (l && !l.startsWith('See more help')) {
      out.push(prefix && !l.startsWith(prefix.trim().slice(0, -1)) ? prefix + l : l)
      prefix = ''
    }
  }
  return out.join(' ').replaceAll(/\s+/g, ' ')
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim())?.trim() ?? s
}
