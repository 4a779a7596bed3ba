import {Command, Flags} from '@oclif/core'

import {type AdminBackend, type Backend, isAdminBackend} from './backend.js'
import {openCliBackend} from './cli/open-backend.js'
import {reportError} from './cli/report-error.js'
import {ConfigError} from './errors.js'

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
    this.openedBackend ??= openCliBackend(flags)
    return this.openedBackend
  }

  /** The backend, for commands that need administration (purge, gc, config, topics...). */
  protected admin(flags: {spool?: string; url?: string}): AdminBackend & Backend {
    const b = this.backend(flags)
    if (!isAdminBackend(b)) throw new ConfigError(`the ${b.kind} backend does not support this command`)
    return b
  }

  protected async finally(err: Error | undefined): Promise<void> {
    await this.openedBackend?.close()
    return super.finally(err)
  }

  /** One JSON document per line on stdout, uncoloured: for machines. */
  logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json) + '\n')
  }

  /** Every error ends here (see cli/report-error.ts); nothing is rethrown. */
  async catch(err: Error): Promise<void> {
    reportError(err, this.jsonEnabled())
  }
}
