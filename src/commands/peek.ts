import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Peek extends grammarCommand('peek') {
  static summary = 'Show messages without claiming them.'
  static description = `Lists up to -n messages of one state in the order they would be delivered: id, deliveries so far, priority, age, size and the start of the body. Dead letters show why they died. Nothing is moved.`

  static examples = ['<%= config.bin %> peek jobs', '<%= config.bin %> peek jobs --state dead --json']
}
