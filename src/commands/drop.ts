import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Drop extends grammarCommand('drop') {
  static summary = 'Delete a queue and everything in it.'
  static description = `Deletes every message of the queue in every state (in flight too: their consumers' acks then fail with 66), its config, pause, idempotency keys and subscriptions to topics. Asks first on a terminal; elsewhere (CI, cron) it needs --force. A push after it makes a new, empty queue of the same name.`

  static examples = ['<%= config.bin %> drop uploads --force']
}
