import {Args, Flags} from '@oclif/core'

import {durationFlag, queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {pushAction} from '../cli/actions/push.js'
import {parseTime} from '../duration.js'
import {MAX_PRIORITY} from '../policy.js'

export default class Push extends BaseCommand {
  static summary = 'Durably enqueue a message and print its id.'
  static description = `The body is the BODY argument, or stdin when BODY is absent or "-" (byte for byte).
With --batch, every line of stdin is one message (with -0, every NUL-terminated record) and one id is printed per line, in order.
An id is printed only once the message is on disk (file and directory fsynced).`

  static examples = [
    '<%= config.bin %> push jobs "resize photo-1.jpg"',
    'tar c dir | <%= config.bin %> push backups',
    'seq 1000 | <%= config.bin %> push jobs --batch',
    '<%= config.bin %> push jobs --delay 10m --priority 5 "later, but urgent then"',
    '<%= config.bin %> push nightly --key "report-$(date +%F)" build',
  ]

  static args = {
    queue: queueArg({required: true}),
    body: Args.string({description: 'message body ("-" or absent: read stdin)', ignoreStdin: true}),
  }

  static flags = {
    batch: Flags.boolean({char: 'b', description: 'read many messages from stdin, one per line'}),
    null: Flags.boolean({description: 'with --batch: records end with NUL instead of newline (also -0)'}),
    priority: Flags.integer({char: 'p', description: `priority 0-${MAX_PRIORITY}, larger is claimed first`, max: MAX_PRIORITY, min: 0}),
    delay: durationFlag({description: 'not deliverable before this long from now (e.g. 30s, 10m)', exclusive: ['at']}),
    at: Flags.custom<number>({
      description: 'not deliverable before this time (ISO 8601, or @EPOCH-SECONDS)',
      parse: async (s) => parseTime(s, 'at'),
    })(),
    'allow-empty': Flags.boolean({description: 'accept an empty body from stdin'}),
    key: Flags.string({char: 'k', description: 'idempotency key: while it holds, a second push with it makes no message (exit 4, first id printed)'}),
    'key-ttl': durationFlag({description: 'how long the key holds [default: 24h]'}),
    ttl: durationFlag({description: 'expiry: not delivered later than this long from now (dead-lettered instead)'}),
    wait: durationFlag({description: 'if the queue is full, wait up to this long for room'}),
    header: Flags.string({char: 'H', description: 'user header NAME=VALUE (repeatable); handlers see MQ_HEADER_NAME', multiple: true}),
  }

  async run(): Promise<unknown> {
    // oclif short flags must be letters; -0 (as xargs -0) is spelled --null for the parser.
    this.argv = this.argv.map((a) => (a === '-0' ? '--null' : a))
    const {args, flags} = await this.parse(Push)
    return pushAction(await this.backend(flags), {...flags, ...args, allowEmpty: flags['allow-empty'], keyTtl: flags['key-ttl']})
  }
}
