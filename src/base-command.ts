import {Command, Flags, type Interfaces} from '@oclif/core'

import {type Backend} from './backend.js'
import {openBackend} from './backends/index.js'
import {MqError, ioError} from './errors.js'
import {EXIT} from './exit-codes.js'
import {setQuarantineLogger} from './spool/quarantine.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * What every mq command shares: --spool/--url and --json, opening the backend, and the one
 * place where errors become an exit status and one line on stderr.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    spool: Flags.string({
      description: 'spool directory [default: $MQ_SPOOL, else $XDG_STATE_HOME/mq, else ~/.local/state/mq]',
      helpGroup: 'GLOBAL',
    }),
    url: Flags.string({
      description: 'backend URL, e.g. file:///var/spool/mq [default: $MQ_URL]',
      helpGroup: 'GLOBAL',
    }),
  }

  static enableJsonFlag = true

  private openedBackend?: Backend

  protected backend(flags: {spool?: string; url?: string}): Backend {
    setQuarantineLogger((line) => process.stderr.write(line + '\n'))
    this.openedBackend ??= openBackend(flags)
    return this.openedBackend
  }

  protected async finally(err: Error | undefined): Promise<void> {
    await this.openedBackend?.close()
    return super.finally(err)
  }

  /** One JSON document per line on stdout, uncoloured: for machines. */
  logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json) + '\n')
  }

  /**
   * Every error ends here: typed errors keep their exit status, oclif's parse errors become
   * usage errors (64), fs errors become I/O errors, anything else is a bug (70). One line on
   * stderr, or a small JSON object on stderr under --json. Nothing is rethrown.
   */
  async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; parse?: unknown}): Promise<void> {
    const mapped = toMqError(err)
    // oclif prefixes errors thrown by a flag's parse() with "Parsing --flag" lines.
    const message = mapped.message.includes('\n') ? usageLine(mapped.message) : mapped.message
    process.exitCode = mapped.exitCode
    if (this.jsonEnabled()) {
      process.stderr.write(JSON.stringify({error: {code: mapped.code, exitCode: mapped.exitCode, message}}) + '\n')
    } else {
      process.stderr.write(`mq: ${message}${mapped.hint ? ` (${mapped.hint})` : ''}\n`)
    }
    if (mapped.exitCode === EXIT.SOFTWARE && process.env.MQ_DEBUG) process.stderr.write(`${err.stack}\n`)
  }
}

function toMqError(err: Error & {oclif?: {exit?: number}; parse?: unknown}): MqError {
  if (err instanceof MqError) return err
  if ('parse' in err || err.constructor?.name?.endsWith('ParseError') || err.message?.startsWith('Parsing --')) {
    const cause = (err as {cause?: unknown}).cause
    if (cause instanceof MqError) return cause
    return new MqError('usage', EXIT.USAGE, usageLine(err.message), 'see --help')
  }
  if (err.oclif?.exit !== undefined && err.oclif.exit !== 1 && err.oclif.exit !== 2)
    return new MqError('exit', err.oclif.exit as typeof EXIT.OK, firstLine(err.message))
  const io = ioError(String((err as NodeJS.ErrnoException).syscall ?? 'operation'), String((err as NodeJS.ErrnoException).path ?? ''), err)
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
