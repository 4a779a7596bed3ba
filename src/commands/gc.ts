import {Args, Flags} from '@oclif/core'

import {durationFlag} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {confirmOrForce} from '../confirm.js'
import {formatDuration, parseDuration} from '../duration.js'
import {UsageError} from '../errors.js'
import {startSpinner} from '../output.js'
import {type SpoolBackend} from '../backends/spool-backend.js'
import {validateQueueName} from '../spool/layout.js'

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
    const backend = this.admin(flags)
    const queues = args.queue ? [args.queue] : (await backend.stats()).map((s) => s.queue)
    const what = `Remove done/ entries acked over ${formatDuration(flags['done-older-than'])} ago and tmp/ files older than ${formatDuration(flags['tmp-older-than'])} in ${args.queue ?? 'every queue'}?`
    if (!(await confirmOrForce(what, flags.force))) throw new UsageError('not confirmed; nothing removed')
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
      // Topics have temp files and keys of their own (fan-out pushes).
      if (!args.queue && 'gcTopics' in backend && typeof backend.gcTopics === 'function') {
        for (const t of await (backend as SpoolBackend).gcTopics({doneOlderThanMs: flags['done-older-than'], tmpOlderThanMs: flags['tmp-older-than']})) {
          if (!flags.json && (t.tmp || t.keys)) process.stderr.write(`mq: topic ${t.topic}: removed ${t.tmp} tmp, ${t.keys} keys\n`)
        }
      }
    } finally {
      spinner?.stop()
    }
    return args.queue ? results[0] : results
  }
}
