import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts (the fast path runs the same). */
export default class Nack extends grammarCommand('nack') {
  static summary = 'Give a claimed message back for another delivery.'
  static description = `The message is ready again at once, or after --delay. Its delivery count is kept: when this was the queue's last allowed delivery (mq config --max-attempts), the message becomes a dead letter instead (state "dead").`

  static examples = ['<%= config.bin %> nack jobs "$receipt"', '<%= config.bin %> nack jobs "$receipt" --delay 1m']
}
