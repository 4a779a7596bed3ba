import {BaseCommand} from '../base-command.js'
import {ADMIN} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Unsubscribe extends BaseCommand {
  static summary = 'Stop delivering pushes to TOPIC into QUEUE.'
  static description = `Messages the queue already has stay. Not subscribed: exit 66.`

  static examples = ['<%= config.bin %> unsubscribe orders shipping']

  static args = oclifArgs(ADMIN.unsubscribe)
  static flags = oclifFlags(ADMIN.unsubscribe)
  static strict = oclifStrict(ADMIN.unsubscribe)

  async run(): Promise<unknown> {
    return this.runGrammar('unsubscribe')
  }
}
