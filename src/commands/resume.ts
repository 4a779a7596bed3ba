import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'

export default class Resume extends BaseCommand {
  static summary = 'Let pop and consume work on a paused queue again.'
  static examples = ['<%= config.bin %> resume jobs']
  static args = {queue: queueArg({required: true})}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Resume)
    const was = await (await this.backend(flags)).resume(args.queue)
    if (!was && !flags.json) process.stderr.write(`mq: ${args.queue} was not paused\n`)
    return {paused: false, queue: args.queue, wasPaused: was}
  }
}
