import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts (the fast path runs the same). */
export default class Consume extends grammarCommand('consume') {
  static summary = 'Run a handler for every message: the worker.'
  static description = `Each message's body goes to the handler's stdin; its metadata to the environment (MQ_QUEUE, MQ_ID, MQ_ATTEMPT, MQ_ENQUEUED_AT, MQ_PRIORITY, MQ_RECEIPT, MQ_KEY, MQ_HEADER_*). The handler's exit status decides: 0 acks; 75 or 111 (temporary failure) and any other failure, signal or timeout retry with exponential backoff until the queue's max attempts (mq config --max-attempts), then dead-letter; 100 (permanent failure) dead-letters at once.
The lease is renewed while the handler runs. SIGTERM or SIGINT stops claiming, lets running handlers finish within --grace, then stops them and releases their messages; a second signal stops at once.`

  static examples = [
    '<%= config.bin %> consume jobs --exec ./handler.sh',
    '<%= config.bin %> consume uploads -j 4 --timeout 10m --shell \'gzip -9 > "archive/$MQ_ID.gz"\'',
    '<%= config.bin %> consume jobs --shell \'jq -r .url | xargs curl -fsS\'',
    '<%= config.bin %> consume tests --drain -j 2 --exec ./run-one-test.sh',
    '<%= config.bin %> consume jobs --idle-exit 30s -- ./handler.sh --verbose',
  ]
}
