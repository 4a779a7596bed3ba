import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {formatDuration} from '../duration.js'
import {palette} from '../output.js'
import {type QueueStats} from '../backend.js'
import {validateQueueName} from '../queue-name.js'

export default class Stats extends BaseCommand {
  static summary = 'Count messages per state, for one queue or all.'
  static description = `ready: deliverable now; inflight: claimed, under a lease; delayed: waiting for a not-before time; done: acked and kept; dead: dead letters; bad: quarantined files. oldestReadyAgeMs is the age of the oldest ready message.
With --json: one object for a named queue, an array of them when none is named.`

  static examples = ['<%= config.bin %> stats', '<%= config.bin %> stats jobs --json']
  static flags = {
    prometheus: Flags.boolean({description: 'print Prometheus text exposition format (for node_exporter\'s textfile collector)', exclusive: ['json']}),
  }

  static args = {
    queue: Args.string({description: 'queue name (default: every queue)', parse: async (s) => validateQueueName(s)}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Stats)
    const backend = await this.backend(flags)
    // The spool also reports quarantined files ("bad"), beside the queue's own figures.
    const all: Array<QueueStats & {bad?: number}> = await backend.stats(args.queue)
    if (backend.diagnostics) for (const s of all) s.bad = await backend.diagnostics.quarantined(s.queue)
    if (flags.json) return args.queue ? all[0] : all
    if (flags.prometheus) {
      process.stdout.write(toPrometheus(all))
      return undefined
    }
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
        s.bad ? c.yellow(String(s.bad)) : s.bad === undefined ? '-' : '0',
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

/** Prometheus text format: one gauge family per figure, labelled by queue (and state). */
export function toPrometheus(all: Array<QueueStats & {bad?: number}>): string {
  const lines = [
    '# HELP mq_messages Messages in a queue, by state.',
    '# TYPE mq_messages gauge',
  ]
  for (const s of all)
    for (const state of ['ready', 'inflight', 'delayed', 'done', 'dead', 'bad'] as const)
      if (s[state] !== undefined) lines.push(`mq_messages{queue="${s.queue}",state="${state}"} ${s[state]}`)
  lines.push('# HELP mq_oldest_ready_age_seconds Age of the oldest ready message (0 when none is ready).', '# TYPE mq_oldest_ready_age_seconds gauge')
  for (const s of all) lines.push(`mq_oldest_ready_age_seconds{queue="${s.queue}"} ${(s.oldestReadyAgeMs ?? 0) / 1000}`)
  lines.push('# HELP mq_paused 1 when the queue is paused.', '# TYPE mq_paused gauge')
  for (const s of all) lines.push(`mq_paused{queue="${s.queue}"} ${s.paused ? 1 : 0}`)
  return lines.join('\n') + '\n'
}
