import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Topics extends grammarCommand('topics') {
  static summary = 'List the topics and the queues subscribed to each.'
  static description = `A name becomes a topic on its first "mq subscribe"; a push to it reaches every subscribed queue. A topic whose last subscriber left refuses pushes (exit 69).`

  static examples = ['<%= config.bin %> topics', '<%= config.bin %> topics --json']
}
