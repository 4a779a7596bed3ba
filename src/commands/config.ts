import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Config extends grammarCommand('config') {
  static summary = "Show or change a queue's settings: its bound, its max attempts, its default lease."
  static description = `A queue's policy is the same for every producer and consumer of it.
--max-depth N bounds the queue: a push that would make ready + delayed + in-flight messages more than N fails with "queue full" (exit 75) and writes nothing (push --wait waits for room). Producers racing at the bound can pass it by what they push at the same moment. --no-max-depth removes the bound.
--max-attempts N: a message delivered N times is dead-lettered instead of delivered again (default 5).
--lease DURATION: the lease of a claim that asks for none (pop and consume without --lease; default 5m).
Without flags, prints the settings. Changing a setting creates the queue if it does not exist yet.`

  static examples = ['<%= config.bin %> config jobs', '<%= config.bin %> config jobs --max-depth 10000', '<%= config.bin %> config jobs --max-attempts 10 --lease 15m']
}
