import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts (the fast path runs the same). */
export default class Pop extends grammarCommand('pop') {
  static summary = 'Claim the oldest ready message under a lease.'
  static description = `Prints the receipt on the first line, then the body, byte for byte. Pass the receipt to "mq ack" when done (or "mq nack" to give the message back). Unacked, the message is delivered again once its lease runs out.
With -o FILE the body goes to FILE and only the receipt is printed. An empty queue prints nothing and exits 3.`

  static examples = [
    '<%= config.bin %> pop jobs',
    'receipt=$(<%= config.bin %> pop jobs -o body) && ./work < body && <%= config.bin %> ack jobs "$receipt"',
    '<%= config.bin %> pop jobs | { IFS= read -r receipt || exit 0; ./work; <%= config.bin %> ack jobs "$receipt"; }',
    '<%= config.bin %> pop jobs --wait 30s --json',
  ]
}
