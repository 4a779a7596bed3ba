import {loadHelpClass} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {ADMIN, parseCommandLine, unknownCommand} from '../cli/grammar.js'
import {oclifArgs} from '../cli/oclif-flags.js'

export default class Help extends BaseCommand {
  static summary = 'Show help for mq, or for one command.'
  static examples = ['<%= config.bin %> help', '<%= config.bin %> help push']

  static args = oclifArgs(ADMIN.help)
  static strict = false

  /** oclif's help, except that an unknown command is a usage error (64) with a suggestion. */
  async run(): Promise<unknown> {
    this.parsed = true
    const {args} = parseCommandLine('help', this.argv)
    const words = (args.command as string[] | undefined) ?? []
    if (words.length > 0 && !this.config.findCommand(words.join(':'))) {
      throw unknownCommand(words, this.config.commandIDs)
    }
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions ?? this.config.pjson.helpOptions).showHelp(words)
    return undefined
  }
}
