import {Args} from '@oclif/core'

import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {ackAction} from '../cli/actions/ack.js'

export default class Ack extends BaseCommand {
  static summary = 'Finish a claimed message (or several).'
  static description = `RECEIPT is what "mq pop" printed. A bare message id also works: it acks whatever claim of that id is in flight now.
Unknown receipts, double acks and acks after the lease expired and the message was reclaimed fail with exit status 66 and change nothing.`

  static examples = ['<%= config.bin %> ack jobs "$receipt"']
  static strict = false
  static args = {
    queue: queueArg({required: true}),
    receipt: Args.string({description: 'receipt printed by pop (or a message id); several may be given', required: true}),
  }

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Ack)
    const [queue, ...receipts] = argv as string[]
    return ackAction(await this.backend(flags), queue, receipts, Boolean(flags.json))
  }
}
