import {Args, Flags} from '@oclif/core'

import {queueArg} from '../args.js'

import {BaseCommand} from '../base-command.js'
import {parseDuration, parseTime} from '../duration.js'
import {UsageError} from '../errors.js'
import {MAX_PRIORITY} from '../spool/message-name.js'
import {type PushInput} from '../spool/push.js'
import {readRecords, readStdin, requireBody} from '../stdin.js'

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
  ]

  static args = {
    queue: queueArg({required: true}),
    body: Args.string({description: 'message body ("-" or absent: read stdin)', ignoreStdin: true}),
  }

  static flags = {
    batch: Flags.boolean({char: 'b', description: 'read many messages from stdin, one per line'}),
    null: Flags.boolean({description: 'with --batch: records end with NUL instead of newline (also -0)'}),
    priority: Flags.integer({char: 'p', description: `priority 0-${MAX_PRIORITY}, larger is claimed first`, max: MAX_PRIORITY, min: 0}),
    delay: Flags.string({description: 'not deliverable before this long from now (e.g. 30s, 10m)', exclusive: ['at']}),
    at: Flags.string({description: 'not deliverable before this time (ISO 8601, or @EPOCH-SECONDS)'}),
    'allow-empty': Flags.boolean({description: 'accept an empty body from stdin'}),
  }

  async run(): Promise<unknown> {
    // oclif short flags must be letters; -0 (as xargs -0) is spelled --null for the parser.
    this.argv = this.argv.map((a) => (a === '-0' ? '--null' : a))
    const {args, flags} = await this.parse(Push)
    const backend = this.backend(flags)
    const now = Date.now()
    const template: Omit<PushInput, 'body'> = {
      notBefore: flags.delay ? now + parseDuration(flags.delay, 'delay') : flags.at ? parseTime(flags.at, 'at') : undefined,
      priority: flags.priority,
    }

    if (flags.batch || flags.null) {
      if (args.body !== undefined && args.body !== '-') throw new UsageError('--batch reads stdin; do not give a BODY argument')
      const ids: string[] = []
      for await (const group of readRecords(flags.null ? 0 : 10, 1000)) {
        const pushed = await backend.push(args.queue, group.map((body) => ({...template, body})))
        if (flags.json) ids.push(...pushed.map((p) => p.id))
        else process.stdout.write(pushed.map((p) => p.id).join('\n') + '\n')
      }
      return {ids, queue: args.queue}
    }

    const body =
      args.body === undefined || args.body === '-' ? requireBody(await readStdin(), flags['allow-empty']) : Buffer.from(args.body)
    const [pushed] = await backend.push(args.queue, [{...template, body}])
    if (!flags.json) process.stdout.write(pushed.id + '\n')
    return {id: pushed.id, queue: args.queue, state: pushed.state === 'new' ? 'ready' : 'delayed'}
  }
}
