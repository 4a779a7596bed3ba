import {BaseCommand} from '../base-command.js'
import {VERBS} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/verbs.ts (the fast path runs the same). */
export default class Nack extends BaseCommand {
  static summary = 'Give a claimed message back for another delivery.'
  static description = `The message is ready again at once, or after --delay. Its delivery count is kept: when this was the queue's last allowed delivery (mq config --max-attempts), the message becomes a dead letter instead (state "dead").`

  static examples = ['<%= config.bin %> nack jobs "$receipt"', '<%= config.bin %> nack jobs "$receipt" --delay 1m']

  static args = oclifArgs(VERBS.nack)
  static flags = oclifFlags(VERBS.nack)
  static strict = oclifStrict(VERBS.nack)

  async run(): Promise<unknown> {
    return this.runGrammar('nack')
  }
}
