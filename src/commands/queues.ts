import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Queues extends grammarCommand('queues') {
  static summary = 'List the queues and the topics: what each name is, what is in it, who hears it.'

  static examples = ['<%= config.bin %> queues', '<%= config.bin %> queues --json']
}
