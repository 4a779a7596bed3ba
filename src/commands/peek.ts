import {Flags} from '@oclif/core'

import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {encodeBody} from '../body.js'
import {formatDuration} from '../duration.js'
import {palette} from '../output.js'
import {type MessageInfo, type MessageState} from '../backend.js'

const STATES = ['ready', 'delayed', 'inflight', 'dead', 'done'] as const

export default class Peek extends BaseCommand {
  static summary = 'Show messages without claiming them.'
  static description = `Lists up to -n messages of one state in the order they would be delivered: id, deliveries so far, priority, age, size and the start of the body. Dead letters show why they died. Nothing is moved.`

  static examples = ['<%= config.bin %> peek jobs', '<%= config.bin %> peek jobs --state dead --json']
  static args = {queue: queueArg({required: true})}
  static flags = {
    count: Flags.integer({char: 'n', default: 10, description: 'how many messages at most', min: 1}),
    state: Flags.string({default: 'ready', description: 'which messages', options: [...STATES]}),
    base64: Flags.boolean({description: 'with --json: always give bodies as base64'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Peek)
    const infos = await (await this.backend(flags)).peek(args.queue, {bodies: true, limit: flags.count, state: flags.state as MessageState})
    if (flags.json) return infos.map((m) => toJson(m, flags.base64))
    const c = await palette()
    const now = Date.now()
    for (const m of infos) {
      const preview = m.body ? JSON.stringify(m.body.subarray(0, 60).toString('utf8')) : ''
      const extra =
        m.state === 'dead' && m.reason
          ? ` ${c.red(m.reason.reason)}${m.reason.lastError ? ` (${m.reason.lastError})` : ''}`
          : m.notBefore
            ? ` due in ${formatDuration(Math.max(0, m.notBefore - now))}`
            : m.leaseUntil
              ? ` lease ${m.leaseUntil > now ? `ends in ${formatDuration(m.leaseUntil - now)}` : c.yellow('expired')}`
              : ''
      process.stdout.write(
        `${m.id}  a=${m.attempt} p=${m.priority} age=${formatDuration(now - m.enqueuedAt)} ${m.size}B${extra}  ${c.dim(preview)}\n`,
      )
    }
    return undefined
  }
}

function toJson(m: MessageInfo, base64: boolean): Record<string, unknown> {
  return {
    attempt: m.attempt,
    ...(m.body ? encodeBody(m.body, base64) : {}),
    enqueuedAt: new Date(m.enqueuedAt).toISOString(),
    id: m.id,
    priority: m.priority,
    size: m.size,
    state: m.state,
    ...(m.notBefore ? {notBefore: new Date(m.notBefore).toISOString()} : {}),
    ...(m.leaseUntil ? {leaseUntil: new Date(m.leaseUntil).toISOString()} : {}),
    ...(m.key === undefined ? {} : {key: m.key}),
    ...(m.headers === undefined ? {} : {headers: m.headers}),
    ...(m.reason ? {reason: m.reason} : {}),
  }
}
