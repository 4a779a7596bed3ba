import {BaseCommand} from '../base-command.js'

export default class Queues extends BaseCommand {
  static summary = 'List the queues, with their ready and in-flight counts.'
  static examples = ['<%= config.bin %> queues', '<%= config.bin %> queues --json']

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Queues)
    const all = await (await this.backend(flags)).stats()
    if (!flags.json) for (const s of all) process.stdout.write(`${s.queue}\t${s.ready}\t${s.inflight}${s.paused ? '\tpaused' : ''}\n`)
    return all.map((s) => ({inflight: s.inflight, paused: s.paused, queue: s.queue, ready: s.ready}))
  }
}
