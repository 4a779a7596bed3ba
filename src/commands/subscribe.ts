import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'

export default class Subscribe extends BaseCommand {
  static summary = 'Deliver a copy of every later push to TOPIC into QUEUE (fan-out).'
  static description = `Once a name has subscribers it is a topic: "mq push TOPIC" writes the message once and hard-links it into every subscribed queue, where each copy is claimed and acked on its own. A queue subscribed later gets only later messages. A topic whose last subscriber left rejects pushes (exit 69).`

  static examples = ['<%= config.bin %> subscribe orders billing', '<%= config.bin %> subscribe orders shipping']
  static args = {topic: queueArg({description: 'topic name', required: true}), queue: queueArg({required: true})}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Subscribe)
    const created = await (await this.backend(flags)).subscribe(args.topic, args.queue)
    return {queue: args.queue, subscribed: true, topic: args.topic, was: created ? 'new' : 'already'}
  }
}
