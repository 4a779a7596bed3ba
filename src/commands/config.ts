import {Flags} from '@oclif/core'

import {durationFlag, queueArg} from '../args.js'
import {type QueueConfigPatch} from '../backend.js'
import {BaseCommand} from '../base-command.js'
import {formatDuration} from '../duration.js'

export default class Config extends BaseCommand {
  static summary = "Show or change a queue's settings: its bound, its max attempts, its default lease."
  static description = `A queue's policy is the same for every producer and consumer of it.
--max-depth N bounds the queue: a push that would make ready + delayed + in-flight messages more than N fails with "queue full" (exit 75) and writes nothing (push --wait waits for room). Producers racing at the bound can pass it by what they push at the same moment. --no-max-depth removes the bound.
--max-attempts N: a message delivered N times is dead-lettered instead of delivered again (default 5).
--lease DURATION: the lease of a claim that asks for none (pop and consume without --lease; default 5m).
Without flags, prints the settings. Changing a setting creates the queue if it does not exist yet.`

  static examples = ['<%= config.bin %> config jobs', '<%= config.bin %> config jobs --max-depth 10000', '<%= config.bin %> config jobs --max-attempts 10 --lease 15m']
  static args = {queue: queueArg({required: true})}
  static flags = {
    'max-depth': Flags.integer({description: 'most messages ready + delayed + in flight', exclusive: ['no-max-depth'], min: 1}),
    'no-max-depth': Flags.boolean({description: 'remove the bound'}),
    'max-attempts': Flags.integer({description: 'deliveries before a message is dead-lettered instead of delivered again [default: 5]', min: 1}),
    lease: durationFlag({description: 'the lease of a claim that asks for none [default: 5m]'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Config)
    const backend = await this.backend(flags)
    const patch: QueueConfigPatch = {}
    if (flags['max-depth'] !== undefined) patch.maxDepth = flags['max-depth']
    if (flags['no-max-depth']) patch.maxDepth = null
    if (flags['max-attempts'] !== undefined) patch.maxAttempts = flags['max-attempts']
    if (flags.lease !== undefined) patch.leaseMs = flags.lease
    const config = Object.keys(patch).length > 0 ? await backend.setConfig(args.queue, patch) : await backend.getConfig(args.queue)
    if (!flags.json) {
      process.stdout.write(`max-depth ${config.maxDepth ?? 'none'}\nmax-attempts ${config.maxAttempts}\nlease ${formatDuration(config.leaseMs)}\n`)
    }
    return {leaseMs: config.leaseMs, maxAttempts: config.maxAttempts, maxDepth: config.maxDepth ?? null, queue: args.queue}
  }
}
