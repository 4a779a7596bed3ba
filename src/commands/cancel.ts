import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Cancel extends grammarCommand('cancel') {
  static summary = 'Remove messages that are ready or delayed.'
  static description = `Removes each message that is still waiting (ready or delayed) and prints its id. A message in flight belongs to its consumer and is not cancelled; nor is a dead letter (purge or requeue it) or a done one. Those and unknown ids are reported, one line, and make the status 66, after the others are cancelled. A claim and a cancel racing for one message: exactly one of them gets it.`

  static examples = ['id=$(<%= config.bin %> push reports monthly --delay 1h) && <%= config.bin %> cancel reports "$id"']
}
