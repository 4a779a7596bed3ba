import {Flags} from '@oclif/core'

import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'

export default class Config extends BaseCommand {
  static summary = 'Show or change a queue\'s settings.'
  static description = `--max-depth N bounds the queue: a push that would make ready + delayed + in-flight messages more than N fails with "queue full" (exit 75) and writes nothing (push --wait waits for room). Producers racing at the bound can pass it by what they push at the same moment. --no-max-depth removes the bound. Without flags, prints the settings.`

  static examples = ['<%= config.bin %> config jobs', '<%= config.bin %> config jobs --max-depth 10000']
  static args = {queue: queueArg({required: true})}
  static flags = {
    'max-depth': Flags.integer({description: 'most messages ready + delayed + in flight', exclusive: ['no-max-depth'], min: 1}),
    'no-max-depth': Flags.boolean({description: 'remove the bound'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Config)
    const backend = this.admin(flags)
    const changing = flags['max-depth'] !== undefined || flags['no-max-depth']
    const config = changing
      ? await backend.setConfig(args.queue, {maxDepth: flags['no-max-depth'] ? undefined : flags['max-depth']})
      : await backend.getConfig(args.queue)
    if (!flags.json) process.stdout.write(`max-depth ${config.maxDepth ?? 'none'}\n`)
    return {queue: args.queue, ...config}
  }
}
