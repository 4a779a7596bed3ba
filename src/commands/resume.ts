import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Resume extends grammarCommand('resume') {
  static summary = 'Let pop and consume work on a paused queue again.'

  static examples = ['<%= config.bin %> resume jobs']
}
