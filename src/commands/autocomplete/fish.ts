import {BaseCommand} from '../../base-command.js'
import {COMMANDS, COMMON_FLAGS, type FlagSpec} from '../../cli/grammar.js'
import {writeStdoutSync} from '../../stdio.js'

/**
 * Completion for fish, which oclif's autocomplete plugin does not cover (it does bash, zsh and
 * PowerShell), generated from the same grammar the commands are parsed with (src/cli/grammar.ts):
 * commands with their summaries, each command's flags, and queue names from `mq queues`.
 */
export default class AutocompleteFish extends BaseCommand {
  static summary = 'Print a completion script for fish.'
  static description = 'Install it with: mkdir -p ~/.config/fish/completions && mq autocomplete fish > ~/.config/fish/completions/mq.fish'
  static examples = ['mkdir -p ~/.config/fish/completions && <%= config.bin %> autocomplete fish > ~/.config/fish/completions/mq.fish']
  static enableJsonFlag = false

  async run(): Promise<unknown> {
    this.parsed = true
    // fish's single quotes take two escapes: \\ and \'
    const q = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
    const lines = [
      '# mq completion for fish (mq autocomplete fish)',
      'complete -c mq -f',
      "function __mq_queues; mq queues 2>/dev/null | string match -rv '^NAME' | string replace -r '\\s.*' ''; end",
    ]
    for (const id of this.config.commandIDs.sort()) {
      const cmd = this.config.findCommand(id)
      if (!cmd || cmd.hidden || id.includes(':')) continue
      lines.push(`complete -c mq -n __fish_use_subcommand -a ${id} -d ${q(cmd.summary ?? '')}`)
      const spec = COMMANDS[id as keyof typeof COMMANDS]
      if (!spec) continue
      const when = `-n '__fish_seen_subcommand_from ${id}'`
      if (spec.args.some((a) => a.kind === 'queue')) lines.push(`complete -c mq ${when} -a '(__mq_queues)'`)
      const flags: Record<string, FlagSpec> = {...COMMON_FLAGS, ...spec.flags}
      for (const [name, f] of Object.entries(flags)) {
        if (f.refuse) continue
        const short = f.char && /^[a-zA-Z0-9]$/.test(f.char) ? ` -s ${f.char}` : ''
        const value = f.type === 'boolean' ? '' : f.options ? ` -r -a ${q(f.options.join(' '))}` : f.type === 'string' && /FILE|DIR/.test(f.helpValue ?? '') ? ' -r -F' : ' -r'
        lines.push(`complete -c mq ${when} -l ${name}${short}${value} -d ${q(f.description)}`)
      }
    }
    writeStdoutSync(lines.join('\n') + '\n')
    return undefined
  }
}
