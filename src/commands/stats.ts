import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Stats extends grammarCommand('stats') {
  static summary = 'Count messages per state, for one queue or all.'
  static description = `ready: deliverable now; inflight: claimed, under a lease; delayed: waiting for a not-before time; done: acked and kept; dead: dead letters; bad: quarantined files (the spool). oldestReadyAgeMs is the age of the oldest ready message.
With --json: one object for a named queue, an array of them when none is named. An unknown queue is an error (66), so a CI gate cannot pass on a typo.
With --prometheus --textfile FILE, the metrics replace FILE atomically, for node_exporter's textfile collector.`

  static examples = ['<%= config.bin %> stats', '<%= config.bin %> stats jobs --json', '<%= config.bin %> stats --prometheus --textfile mq.prom']
}
