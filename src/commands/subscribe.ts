import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Subscribe extends grammarCommand('subscribe') {
  static summary = 'Deliver a copy of every later push to TOPIC into QUEUE (fan-out).'
  static description = `Once a name has subscribers it is a topic: "mq push TOPIC" writes the message once and hard-links it into every subscribed queue, where each copy is claimed and acked on its own. A queue subscribed later gets only later messages. A topic whose last subscriber left rejects pushes (exit 69).`

  static examples = ['<%= config.bin %> subscribe orders billing', '<%= config.bin %> subscribe orders shipping']
}
