import {BaseCommand} from '../base-command.js'
import {VERBS} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/verbs.ts (the fast path runs the same). */
export default class Ack extends BaseCommand {
  static summary = 'Finish a claimed message (or several).'
  static description = `RECEIPT is what "mq pop" printed. A bare message id also works: it acks whatever claim of that id is in flight now.
Unknown receipts, double acks and acks after the lease expired and the message was reclaimed fail with exit status 66 and change nothing.`

  static examples = ['<%= config.bin %> ack jobs "$receipt"']

  static args = oclifArgs(VERBS.ack)
  static flags = oclifFlags(VERBS.ack)
  static strict = oclifStrict(VERBS.ack)

  async run(): Promise<unknown> {
    return this.runGrammar('ack')
  }
}
