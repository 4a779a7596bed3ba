import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'

export default class Unsubscribe extends BaseCommand {
  static summary = 'Stop delivering pushes to TOPIC into QUEUE.'
  static description = `Messages the queue already has stay. Not subscribed: exit 66.`
  static examples = ['<%= config.bin %> unsubscribe orders shipping']
  static args = {topic: queueArg({description: 'topic name', required: true}), queue: queueArg({required: true})}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Unsubscribe)
    await (await this.backend(flags)).unsubscribe(args.topic, args.queue)
    return {queue: args.queue, subscribed: false, topic: args.topic}
  }
}
