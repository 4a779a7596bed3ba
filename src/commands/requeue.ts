import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Requeue extends grammarCommand('requeue') {
  static summary = 'Move dead letters back to ready (redrive).'
  static description = `Every dead letter of the queue, or only the ids given, becomes ready again with its delivery count reset to 0; its dead-letter reason is removed. A message whose expiry (push --ttl) has passed comes back without it, since it would only die again at once. Prints the ids moved; an id that is not a dead letter of the queue is reported and makes the status 66, after the others are moved.`

  static examples = ['<%= config.bin %> requeue jobs', '<%= config.bin %> requeue jobs "$(<%= config.bin %> peek jobs --state dead --json | jq -r \'.[0].id\')"']
}
