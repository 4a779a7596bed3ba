import {BaseCommand} from '../base-command.js'
import {ADMIN} from '../cli/grammar.js'
import {oclifArgs, oclifFlags, oclifStrict} from '../cli/oclif-flags.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Topics extends BaseCommand {
  static summary = 'List the topics and the queues subscribed to each.'
  static description = `A name becomes a topic on its first "mq subscribe"; a push to it reaches every subscribed queue. A topic whose last subscriber left refuses pushes (exit 69).`

  static examples = ['<%= config.bin %> topics', '<%= config.bin %> topics --json']

  static args = oclifArgs(ADMIN.topics)
  static flags = oclifFlags(ADMIN.topics)
  static strict = oclifStrict(ADMIN.topics)

  async run(): Promise<unknown> {
    return this.runGrammar('topics')
  }
}
