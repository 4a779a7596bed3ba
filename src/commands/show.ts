import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Show extends grammarCommand('show') {
  static summary = 'Show one message: its state, attempts, times, headers and, for a dead letter, why.'
  static description = `Finds the message by id in whatever state it is (ready, delayed, in flight, dead, done) and prints a field per line: attempts, priority, size, when it was enqueued, when it is due, when its lease ends, when it expires, its key, topic and headers; for a dead letter, the reason, the handler's exit status or signal and the tail of its stderr. --json gives the same as peek --json (the body as text, or base64 when it is not UTF-8); --body prints the body alone, byte for byte. An id the queue does not have is 66; an engine that deletes acked messages (Redis) cannot show them (mq wait says whether one was done).`

  static examples = [
    '<%= config.bin %> show jobs "$(<%= config.bin %> peek jobs --state dead --json | jq -r \'.[0].id\')"',
    'id=$(<%= config.bin %> push reports "$(date)") && <%= config.bin %> show reports "$id" --body',
  ]
}
