import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts (the fast path runs the same). */
export default class Push extends grammarCommand('push') {
  static summary = 'Durably enqueue a message and print its id.'
  static description = `The body is the BODY argument, or stdin when BODY is absent or "-" (byte for byte).
With --batch, every line of stdin is one message (with -0, every NUL-terminated record) and one id is printed per line, in order.
An id is printed only once the message is on disk (file and directory fsynced).`

  static examples = [
    '<%= config.bin %> push jobs "resize photo-1.jpg"',
    'tar c dir | <%= config.bin %> push backups',
    'seq 1000 | <%= config.bin %> push jobs --batch',
    '<%= config.bin %> push jobs --delay 10m --priority 5 "later, but urgent then"',
    '<%= config.bin %> push nightly --key "report-$(date +%F)" build',
  ]
}
