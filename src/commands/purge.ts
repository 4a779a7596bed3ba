import {Flags} from '@oclif/core'

import {queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {confirmOrForce} from '../confirm.js'
import {UsageError} from '../errors.js'
import {startSpinner} from '../output.js'
import {type PurgeState} from '../backend.js'

export default class Purge extends BaseCommand {
  static summary = 'Delete the messages of a queue (ready by default).'
  static description = `--state picks what goes: ready, delayed, dead, done, or all of them. Messages in flight are never purged: their consumers hold leases. A consumer claiming a message while purge runs either gets it or the purge does; never both, never neither.
Asks for confirmation on a terminal; elsewhere it needs --force.`

  static examples = ['<%= config.bin %> purge jobs', '<%= config.bin %> purge jobs --state dead --force']
  static args = {queue: queueArg({required: true})}
  static flags = {
    state: Flags.string({default: ['ready'], description: 'which messages', multiple: true, options: ['ready', 'delayed', 'dead', 'done', 'all']}),
    force: Flags.boolean({char: 'f', description: 'do not ask'}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Purge)
    const backend = await this.backend(flags)
    const states = (flags.state.includes('all') ? ['ready', 'delayed', 'dead', 'done'] : flags.state) as PurgeState[]
    if (!(await confirmOrForce(`Delete the ${states.join(', ')} messages of ${args.queue}?`, flags.force))) throw new UsageError('not confirmed; nothing deleted')
    const spinner = flags.json ? undefined : await startSpinner(`purging ${args.queue}`)
    try {
      const counts = await backend.purge(args.queue, states, (n) => spinner?.update(`purging ${args.queue}: ${n} deleted`))
      if (!flags.json) process.stderr.write(`mq: ${args.queue}: purged ${Object.entries(counts).filter(([s]) => states.includes(s as PurgeState)).map(([s, n]) => `${n} ${s}`).join(', ')}\n`)
      return {purged: counts, queue: args.queue}
    } finally {
      spinner?.stop()
    }
  }
}
