import {BaseCommand} from '../base-command.js'
import {ADMIN, COMMON_FLAGS, parseCommandLine} from '../cli/grammar.js'
import {oclifArgs, oclifFlags} from '../cli/oclif-flags.js'
import {writeStdoutSync} from '../stdio.js'

export default class Version extends BaseCommand {
  static summary = "Print mq's version (also mq --version)."
  static examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  static args = oclifArgs(ADMIN.version)
  static flags = oclifFlags(ADMIN.version)
  static strict = false

  async run(): Promise<unknown> {
    this.parsed = true
    const {flags} = parseCommandLine('version', {args: [], flags: {json: COMMON_FLAGS.json}}, this.argv)
    const v = {node: process.version, platform: `${process.platform}-${process.arch}`, version: this.config.version}
    if (flags.json) writeStdoutSync(JSON.stringify(v) + '\n')
    else writeStdoutSync(`mq ${v.version} (node ${v.node}, ${v.platform})\n`)
    return undefined
  }
}
