import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Pause extends grammarCommand('pause') {
  static summary = 'Stop pop and consume on a queue, in every process, until resume.'
  static description = `A marker file in the queue's directory. pop on a paused queue exits 69; pop --wait and consume wait for resume. Pushes still work; messages in flight are not affected.`

  static examples = ['<%= config.bin %> pause jobs']
}
