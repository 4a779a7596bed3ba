import {BaseCommand} from '../base-command.js'
import {ADMIN} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Queues extends BaseCommand {
  static summary = 'List the queues and the topics: what each name is, what is in it, who hears it.'

  static examples = ['<%= config.bin %> queues', '<%= config.bin %> queues --json']

  static args = oclifArgs(ADMIN.queues)
  static flags = oclifFlags(ADMIN.queues)
  static strict = oclifStrict(ADMIN.queues)

  async run(): Promise<unknown> {
    return this.runGrammar('queues')
  }
}
