import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Purge extends grammarCommand('purge') {
  static summary = 'Delete the messages of a queue (ready by default).'
  static description = `--state picks what goes: ready, delayed, dead, done, or all of them. Messages in flight are never purged: their consumers hold leases. A consumer claiming a message while purge runs either gets it or the purge does; never both, never neither.
Asks for confirmation on a terminal; elsewhere it needs --force.`

  static examples = ['<%= config.bin %> purge jobs --force', '<%= config.bin %> purge jobs --state dead --state done --force']
}
