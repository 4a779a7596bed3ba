import {BaseCommand} from '../base-command.js'
import {parseCommandLine} from '../cli/grammar.js'
import {writeStdoutSync} from '../stdio.js'

export default class Version extends BaseCommand {
  static summary = "Print mq's version (also mq --version)."
  static examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  static strict = false

  async run(): Promise<unknown> {
    this.parsed = true
    const {flags} = parseCommandLine('version', this.argv)
    const v = {node: process.version, platform: `${process.platform}-${process.arch}`, version: this.config.version}
    if (flags.json) writeStdoutSync(JSON.stringify(v) + '\n')
    else writeStdoutSync(`mq ${v.version} (node ${v.node}, ${v.platform})\n`)
    return undefined
  }
}
