import {BaseCommand} from '../base-command.js'
import {ADMIN} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Peek extends BaseCommand {
  static summary = 'Show messages without claiming them.'
  static description = `Lists up to -n messages of one state in the order they would be delivered: id, deliveries so far, priority, age, size and the start of the body. Dead letters show why they died. Nothing is moved.`

  static examples = ['<%= config.bin %> peek jobs', '<%= config.bin %> peek jobs --state dead --json']

  static args = oclifArgs(ADMIN.peek)
  static flags = oclifFlags(ADMIN.peek)
  static strict = oclifStrict(ADMIN.peek)

  async run(): Promise<unknown> {
    return this.runGrammar('peek')
  }
}
