import {Command, Flags} from '@oclif/core'

import {type Backend} from './backend.js'
import {openCliBackend} from './cli/open-backend.js'
import {reportError} from './cli/report-error.js'

/**
 * What every mq command shares: --spool/--url and --json, opening the engine, and the one
 * place where errors become an exit status and one line on stderr.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    spool: Flags.string({
      description: 'spool directory [default: $MQ_SPOOL, else $XDG_STATE_HOME/mq, else ~/.local/state/mq]',
      helpGroup: 'GLOBAL',
    }),
    url: Flags.string({
      description: 'engine URL, e.g. file:///var/spool/mq [default: $MQ_URL]',
      helpGroup: 'GLOBAL',
    }),
  }

  static enableJsonFlag = true

  private openedBackend?: Backend

  protected async backend(flags: {spool?: string; url?: string}): Promise<Backend> {
    this.openedBackend ??= await openCliBackend(flags)
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

  /** Every error ends here (see cli/report-error.ts); nothing is rethrown. */
  async catch(err: Error): Promise<void> {
    reportError(err, this.jsonEnabled())
  }
}
