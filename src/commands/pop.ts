import {Flags} from '@oclif/core'

import {durationFlag, leaseFlag, movedMaxAttemptsFlag, queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {popAction} from '../cli/actions/pop.js'

export default class Pop extends BaseCommand {
  static summary = 'Claim the oldest ready message under a lease.'
  static description = `Prints the receipt on the first line, then the body, byte for byte. Pass the receipt to "mq ack" when done (or "mq nack" to give the message back). Unacked, the message is delivered again once its lease runs out.
With -o FILE the body goes to FILE and only the receipt is printed. An empty queue prints nothing and exits 3.`

  static examples = [
    '<%= config.bin %> pop jobs',
    'receipt=$(<%= config.bin %> pop jobs -o body) && ./work < body && <%= config.bin %> ack jobs "$receipt"',
    '<%= config.bin %> pop jobs | { IFS= read -r receipt || exit 0; ./work; <%= config.bin %> ack jobs "$receipt"; }',
    '<%= config.bin %> pop jobs --wait 30s --json',
  ]

  static args = {queue: queueArg({required: true})}

  static flags = {
    lease: leaseFlag,
    'max-attempts': movedMaxAttemptsFlag,
    wait: durationFlag({description: 'wait up to this long for a message (e.g. 30s)'}),
    output: Flags.string({char: 'o', description: 'write the body to this file; print only the receipt'}),
    base64: Flags.boolean({description: 'with --json: always give the body as base64'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Pop)
    return popAction(await this.backend(flags), {
      ...flags,
      leaseMs: flags.lease,
      queue: args.queue,
      waitMs: flags.wait,
    })
  }
}
