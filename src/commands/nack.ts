import {Args} from '@oclif/core'

import {durationFlag, queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {nackAction} from '../cli/actions/ack.js'

export default class Nack extends BaseCommand {
  static summary = 'Give a claimed message back for another delivery.'
  static description = `The message is ready again at once, or after --delay. Its delivery count is kept: when this was the queue's last allowed delivery (mq config --max-attempts), the message becomes a dead letter instead (state "dead").`

  static examples = ['<%= config.bin %> nack jobs "$receipt"', '<%= config.bin %> nack jobs "$receipt" --delay 1m']
  static args = {
    queue: queueArg({required: true}),
    receipt: Args.string({description: 'receipt printed by pop (or a message id)', required: true}),
  }

  static flags = {
    delay: durationFlag({description: 'not deliverable again before this long from now'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Nack)
    return nackAction(await this.backend(flags), args.queue, args.receipt, flags.delay)
  }
}
