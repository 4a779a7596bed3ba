import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {formatDuration} from '../duration.js'
import {palette} from '../output.js'
import {validateQueueName} from '../spool/layout.js'

export default class Stats extends BaseCommand {
  static summary = 'Count messages per state, for one queue or all.'
  static description = `ready: deliverable now; inflight: claimed, under a lease; delayed: waiting for a not-before time; done: acked and kept; dead: dead letters; bad: quarantined files. oldestReadyAgeMs is the age of the oldest ready message.
With --json: one object for a named queue, an array of them when none is named.`

  static examples = ['<%= config.bin %> stats', '<%= config.bin %> stats jobs --json']
  static args = {
    queue: Args.string({description: 'queue name (default: every queue)', parse: async (s) => validateQueueName(s)}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Stats)
    const all = await this.backend(flags).stats(args.queue)
    if (flags.json) return args.queue ? all[0] : all
    const c = await palette()
    const rows = [['QUEUE', 'READY', 'INFLIGHT', 'DELAYED', 'DONE', 'DEAD', 'BAD', 'OLDEST']]
    for (const s of all) {
      rows.push([
        s.queue + (s.paused ? ' (paused)' : ''),
        String(s.ready),
        String(s.inflight),
        String(s.delayed),
        String(s.done),
        s.dead ? c.red(String(s.dead)) : '0',
        s.bad ? c.yellow(String(s.bad)) : '0',
        s.oldestReadyAgeMs === null ? '-' : formatDuration(s.oldestReadyAgeMs),
      ])
    }
    // Widths without colour codes; pad to align.
    const plain = (s: string) => s.replaceAll(/\u001B\[[0-9;]*m/g, '')
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => plain(r[i]).length)))
    for (const r of rows) process.stdout.write(r.map((cell, i) => cell + ' '.repeat(widths[i] - plain(cell).length)).join('  ').trimEnd() + '\n')
    return undefined
  }
}
