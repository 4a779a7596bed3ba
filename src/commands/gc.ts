import {Args, Flags} from '@oclif/core'

import {durationFlag} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {confirmOrForce} from '../confirm.js'
import {formatDuration, parseDuration} from '../duration.js'
import {UsageError} from '../errors.js'
import {startSpinner} from '../output.js'
import {validateQueueName} from '../queue-name.js'

export default class Gc extends BaseCommand {
  static summary = 'Remove old acked messages, abandoned writes and expired keys.'
  static description = `Removes done/ entries acked more than --done-older-than ago (default 1h), tmp/ files older than --tmp-older-than (default 1h: writes whose producer died), expired idempotency keys and orphaned dead-letter reasons. Quarantined files (bad/) are left for a person. Every queue when none is named. It deletes, so it asks on a terminal and needs --force elsewhere (as from cron).`

  static examples = ['<%= config.bin %> gc', '<%= config.bin %> gc --force   # from cron', '<%= config.bin %> gc jobs --done-older-than 0s --force']
  static args = {
    queue: Args.string({description: 'queue name (default: every queue)', parse: async (s) => validateQueueName(s)}),
  }

  static flags = {
    'done-older-than': durationFlag({default: async () => parseDuration('1h', 'done-older-than'), defaultHelp: async () => '1h', description: 'remove done/ entries acked longer ago than this'}),
    force: Flags.boolean({char: 'f', description: 'do not ask'}),
    'tmp-older-than': durationFlag({default: async () => parseDuration('1h', 'tmp-older-than'), defaultHelp: async () => '1h', description: 'remove tmp/ files older than this'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Gc)
    const backend = await this.backend(flags)
    const queues = args.queue ? [args.queue] : (await backend.stats()).map((s) => s.queue)
    const what = `Remove done/ entries acked over ${formatDuration(flags['done-older-than'])} ago and tmp/ files older than ${formatDuration(flags['tmp-older-than'])} in ${args.queue ?? 'every queue'}?`
    if (!(await confirmOrForce(what, flags.force))) throw new UsageError('not confirmed; nothing removed')
    const spinner = flags.json ? undefined : await startSpinner('gc')
    const opts = {doneOlderThanMs: flags['done-older-than'], tmpOlderThanMs: flags['tmp-older-than']}
    const results = []
    try {
      for (const queue of queues) {
        const r = await backend.gc(queue, opts, (n) => spinner?.update(`gc ${queue}: ${n} removed`))
        const removed = {done: r.done, keys: r.keys, tmp: (r as {tmp?: number}).tmp ?? 0}
        results.push({queue, removed})
        if (!flags.json) process.stderr.write(`mq: ${queue}: removed ${removed.done} done, ${removed.tmp} tmp, ${removed.keys} keys\n`)
      }
      // Partial writes outside queues (a topic's fan-out pushes whose producer died).
      if (!args.queue && backend.diagnostics) {
        const n = await backend.diagnostics.sweepAbandoned(opts.tmpOlderThanMs)
        if (!flags.json && n > 0) process.stderr.write(`mq: topics: removed ${n} tmp\n`)
      }
    } finally {
      spinner?.stop()
    }
    return args.queue ? results[0] : results
  }
}
