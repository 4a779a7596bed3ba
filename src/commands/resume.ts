import {BaseCommand} from '../base-command.js'
import {ADMIN} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Resume extends BaseCommand {
  static summary = 'Let pop and consume work on a paused queue again.'

  static examples = ['<%= config.bin %> resume jobs']

  static args = oclifArgs(ADMIN.resume)
  static flags = oclifFlags(ADMIN.resume)
  static strict = oclifStrict(ADMIN.resume)

  async run(): Promise<unknown> {
    return this.runGrammar('resume')
  }
}
