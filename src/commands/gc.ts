import {Args} from '@oclif/core'

import {durationFlag} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {parseDuration} from '../duration.js'
import {startSpinner} from '../output.js'
import {validateQueueName} from '../spool/layout.js'

export default class Gc extends BaseCommand {
  static summary = 'Remove old acked messages, abandoned writes and expired keys.'
  static description = `Removes done/ entries acked more than --done-older-than ago (default 1h), tmp/ files older than --tmp-older-than (default 1h: writes whose producer died), expired idempotency keys and orphaned dead-letter reasons. Quarantined files (bad/) are left for a person. Every queue when none is named. Run it from cron.`

  static examples = ['<%= config.bin %> gc', '<%= config.bin %> gc jobs --done-older-than 0s']
  static args = {
    queue: Args.string({description: 'queue name (default: every queue)', parse: async (s) => validateQueueName(s)}),
  }

  static flags = {
    'done-older-than': durationFlag({default: async () => parseDuration('1h', 'done-older-than'), defaultHelp: async () => '1h', description: 'remove done/ entries acked longer ago than this'}),
    'tmp-older-than': durationFlag({default: async () => parseDuration('1h', 'tmp-older-than'), defaultHelp: async () => '1h', description: 'remove tmp/ files older than this'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Gc)
    const backend = this.admin(flags)
    const queues = args.queue ? [args.queue] : (await backend.stats()).map((s) => s.queue)
    const spinner = flags.json ? undefined : await startSpinner('gc')
    const results = []
    try {
      for (const queue of queues) {
        const r = await backend.gc(queue, {doneOlderThanMs: flags['done-older-than'], tmpOlderThanMs: flags['tmp-older-than']}, (n) =>
          spinner?.update(`gc ${queue}: ${n} removed`),
        )
        results.push({queue, removed: r})
        if (!flags.json) process.stderr.write(`mq: ${queue}: removed ${r.done} done, ${r.tmp} tmp, ${r.keys} keys\n`)
      }
    } finally {
      spinner?.stop()
    }
    return args.queue ? results[0] : results
  }
}
