import {Command, Flags} from '@oclif/core'

import {type Backend} from './backend.js'
import {type Verb} from './cli/grammar.js'
import {openCliBackend} from './cli/open-backend.js'
import {reportError} from './cli/report-error.js'
import {runVerb} from './cli/verbs.js'

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

  /**
   * For the verbs declared in src/cli/grammar.ts: their own parser and action, the ones the fast
   * path runs (oclif only dispatched here, and renders --help).
   */
  protected async runGrammar(verb: Verb): Promise<undefined> {
    this.parsed = true
    await runVerb(verb, this.argv)
    return undefined
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
