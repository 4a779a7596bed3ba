import {BaseCommand} from '../base-command.js'
import {ADMIN} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Pause extends BaseCommand {
  static summary = 'Stop pop and consume on a queue, in every process, until resume.'
  static description = `A marker file in the queue's directory. pop on a paused queue exits 69; pop --wait and consume wait for resume. Pushes still work; messages in flight are not affected.`

  static examples = ['<%= config.bin %> pause jobs']

  static args = oclifArgs(ADMIN.pause)
  static flags = oclifFlags(ADMIN.pause)
  static strict = oclifStrict(ADMIN.pause)

  async run(): Promise<unknown> {
    return this.runGrammar('pause')
  }
}
