import {BaseCommand} from '../../base-command.js'
import {COMMANDS, COMMON_FLAGS, type FlagSpec} from '../../cli/grammar.js'
import {writeStdoutSync} from '../../stdio.js'

/**
 * Completion for bash, generated from the grammar the commands are parsed with
 * (src/cli/grammar.ts), as for fish: commands, each command's flags (long and short), the
 * values of flags that have a fixed set, files and directories where a flag takes one, and
 * queue and topic names, asked of `mq queues` against the --url or --spool typed on the line.
 * oclif's plugin (`mq autocomplete script bash`) completes commands and flags only.
 */
export default class AutocompleteBash extends BaseCommand {
  static summary = 'Print a completion script for bash (queue names included).'
  static description = 'Install it with: mq autocomplete bash > ~/.local/share/bash-completion/completions/mq (or add source <(mq autocomplete bash) to ~/.bashrc)'
  static examples = ['mkdir -p ~/.local/share/bash-completion/completions && <%= config.bin %> autocomplete bash > ~/.local/share/bash-completion/completions/mq']
  static enableJsonFlag = false

  async run(): Promise<unknown> {
    this.parsed = true
    const word = (f: string) => f.replaceAll(/[^\w.-]/g, '')
    const flagWords = (flags: Record<string, FlagSpec>) =>
      Object.entries(flags)
        .filter(([, f]) => !f.refuse)
        .flatMap(([name, f]) => [`--${name}`, ...(f.char && /^[a-zA-Z0-9]$/.test(f.char) ? [`-${f.char}`] : [])])
    const commands = this.config.commandIDs.filter((id) => !id.includes(':') && !this.config.findCommand(id)?.hidden).sort()
    const cases: string[] = []
    const values: string[] = []
    const seenValue = new Set<string>()
    for (const id of commands) {
      const spec = COMMANDS[id as keyof typeof COMMANDS]
      const flags: Record<string, FlagSpec> = {...COMMON_FLAGS, ...spec?.flags}
      const queues = spec?.args.filter((a) => a.kind === 'queue').length ?? 0
      cases.push(`    ${word(id)}) flags='${flagWords(flags).join(' ')}'; queues=${queues} ;;`)
      for (const [name, f] of Object.entries(flags)) {
        if (f.type === 'boolean' || f.refuse) continue
        const names = [`--${name}`, ...(f.char && /^[a-zA-Z0-9]$/.test(f.char) ? [`-${f.char}`] : [])].join('|')
        if (seenValue.has(names)) continue
        seenValue.add(names)
        const reply = f.options
          ? `COMPREPLY=($(compgen -W '${f.options.map(word).join(' ')}' -- "$cur"))`
          : /DIR/.test(f.helpValue ?? '')
            ? 'COMPREPLY=($(compgen -d -- "$cur"))'
            : /FILE/.test(f.helpValue ?? '')
              ? 'COMPREPLY=($(compgen -f -- "$cur"))'
              : 'COMPREPLY=()'
        values.push(`    ${names}) ${reply}; return ;;`)
      }
    }
    const script = `# mq completion for bash (mq autocomplete bash)
_mq_names() {
  # Queues and topics, from the engine the command line names (--url, --spool) or the default.
  "\${1:-mq}" "\${@:2}" queues 2>/dev/null | awk 'NR > 1 { print $1 }'
}
_mq() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd= i n=0 flags queues=0
  local -a where=()
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      --url|--spool) where+=("\${COMP_WORDS[i]}" "\${COMP_WORDS[i+1]}"); ((i++)) ;;
      --url=*|--spool=*) where+=("\${COMP_WORDS[i]}") ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=\${COMP_WORDS[i]}; else ((n++)); fi ;;
    esac
  done
  case $prev in
${values.join('\n')}
  esac
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '${flagWords(COMMON_FLAGS).join(' ')} --help --version' -- "$cur"))
    else COMPREPLY=($(compgen -W '${commands.map(word).join(' ')}' -- "$cur")); fi
    return
  fi
  case $cmd in
${cases.join('\n')}
    *) flags='--help'; queues=0 ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
  elif ((n < queues)); then COMPREPLY=($(compgen -W "$(_mq_names "\${COMP_WORDS[0]}" "\${where[@]}")" -- "$cur"))
  fi
}
complete -F _mq mq
`
    writeStdoutSync(script)
    return undefined
  }
}
