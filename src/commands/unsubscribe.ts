import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Unsubscribe extends grammarCommand('unsubscribe') {
  static summary = 'Stop delivering pushes to TOPIC into QUEUE.'
  static description = `Messages the queue already has stay. Not subscribed: exit 66.`

  static examples = ['<%= config.bin %> unsubscribe orders shipping']
}
