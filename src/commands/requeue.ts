import {Args} from '@oclif/core'

import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'

export default class Requeue extends BaseCommand {
  static summary = 'Move dead letters back to ready (redrive).'
  static description = `Every dead letter of the queue, or only the ids given, becomes ready again with its delivery count reset to 0; its dead-letter reason is removed. Prints the ids moved.`

  static examples = ['<%= config.bin %> requeue jobs', '<%= config.bin %> requeue jobs 01a1fdeea6280000-57f7f6f9af0ab5dd']
  static strict = false
  static args = {
    queue: queueArg({required: true}),
    id: Args.string({description: 'message ids (default: every dead letter)'}),
  }

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Requeue)
    const [queue, ...ids] = argv as string[]
    const moved = await (await this.backend(flags)).requeue(queue, ids.length > 0 ? ids : undefined)
    if (!flags.json && moved.length > 0) process.stdout.write(moved.join('\n') + '\n')
    return {queue, requeued: moved}
  }
}
