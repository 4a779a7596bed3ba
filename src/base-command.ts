import {Command} from '@oclif/core'

import {type CommandName, COMMANDS, COMMON_FLAGS} from './cli/grammar.js'
import {oclifArgs, oclifFlags} from './cli/oclif-flags.js'
import {reportError} from './cli/report-error.js'
import {runCommand} from './cli/run-command.js'

/**
 * What every mq command shares: --spool/--url and --json, and the one place where errors
 * become an exit status and one line on stderr.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = oclifFlags({spool: COMMON_FLAGS.spool, url: COMMON_FLAGS.url}, 'GLOBAL')

  static enableJsonFlag = true

  /**
   * Every command is declared in src/cli/grammar.ts and run by src/cli/run-command.ts: the
   * parser and the action the fast path runs too (oclif only dispatched here, and renders --help).
   */
  protected async runGrammar(name: Exclude<CommandName, 'help' | 'version'>): Promise<undefined> {
    this.parsed = true
    await runCommand(name, this.argv)
    return undefined
  }

  /** Every error ends here (see cli/report-error.ts); nothing is rethrown. */
  async catch(err: Error): Promise<void> {
    reportError(err, this.jsonEnabled())
  }
}

/**
 * A command declared in src/cli/grammar.ts: run() runs its grammar entry (see grammarCommand).
 * oclif renders every argument of a non-strict command as "ARG..."; it parses nothing here, so
 * every one is strict.
 */
export class GrammarCommand extends BaseCommand {
  static grammar: Exclude<CommandName, 'help' | 'version'>
  static strict = true

  async run(): Promise<unknown> {
    return this.runGrammar((this.constructor as typeof GrammarCommand).grammar)
  }
}

/**
 * The base class of the command `name`: its arguments and flags (for --help, the manifest and
 * completion) and its run() come from the grammar; a command file adds only its words for
 * people (summary, description, examples).
 */
export function grammarCommand(name: Exclude<CommandName, 'help' | 'version'>): typeof GrammarCommand {
  return class extends GrammarCommand {
    static args = oclifArgs(COMMANDS[name])
    static flags = oclifFlags(COMMANDS[name].flags)
    static grammar = name
  }
}
