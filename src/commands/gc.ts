import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Gc extends grammarCommand('gc') {
  static summary = 'Remove old acked messages, abandoned writes and expired keys.'
  static description = `Removes done/ entries acked more than --done-older-than ago (default 1h), tmp/ files older than --tmp-older-than (default 1h: writes whose producer died), expired idempotency keys and orphaned dead-letter reasons. Quarantined files (bad/) are left for a person. Every queue when none is named. It deletes, so it asks on a terminal and needs --force elsewhere (as from cron).`

  static examples = ['<%= config.bin %> gc --force   # from cron', '<%= config.bin %> gc jobs --done-older-than 0s --force']
}
