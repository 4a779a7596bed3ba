import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'

export default class Pause extends BaseCommand {
  static summary = 'Stop pop and consume on a queue, in every process, until resume.'
  static description = `A marker file in the queue's directory. pop on a paused queue exits 69; pop --wait and consume wait for resume. Pushes still work; messages in flight are not affected.`

  static examples = ['<%= config.bin %> pause jobs']
  static args = {queue: queueArg({required: true})}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Pause)
    await (await this.backend(flags)).pause(args.queue)
    return {paused: true, queue: args.queue}
  }
}
