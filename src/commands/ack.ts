import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts (the fast path runs the same). */
export default class Ack extends grammarCommand('ack') {
  static summary = 'Finish a claimed message (or several).'
  static description = `RECEIPT is what "mq pop" printed. A bare message id also works: it acks whatever claim of that id is in flight now.
Unknown receipts, double acks and acks after the lease expired and the message was reclaimed fail with exit status 66 and change nothing.`

  static examples = ['<%= config.bin %> ack jobs "$receipt"']
}
