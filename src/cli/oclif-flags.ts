import {Args, Flags, type Interfaces} from '@oclif/core'

import {formatDuration} from '../duration.js'
import {type ArgSpec, type FlagSpec, type VerbSpec} from './grammar.js'

/**
 * oclif's view of a verb declared in grammar.ts: what --help, the manifest and shell completion
 * read. The command classes do not let oclif parse (they call parseCommandLine), so this only
 * describes; the one grammar stays in grammar.ts.
 */
export function oclifFlags(spec: VerbSpec) {
  const out: Interfaces.FlagInput = {}
  for (const [name, f] of Object.entries(spec.flags)) out[name] = oclifFlag(f)
  return out
}

function oclifFlag(f: FlagSpec): Interfaces.FlagInput[string] {
  // oclif's one-letter names must be letters: push's -0 is described in the text instead.
  const char = f.char && /^[a-zA-Z]$/.test(f.char) ? (f.char as 'a') : undefined
  const common = {char, description: f.description, hidden: Boolean(f.refuse), ...(f.exclusive ? {exclusive: [...f.exclusive]} : {})}
  if (f.type === 'boolean') return Flags.boolean(common)
  const help = f.defaultHelp ?? (f.type === 'duration' && typeof f.default === 'number' ? formatDuration(f.default) : f.default?.toString())
  const value = {
    ...common,
    helpValue: f.helpValue ?? (f.type === 'duration' ? 'DURATION' : f.type === 'integer' ? 'N' : undefined),
    ...(f.options ? {options: [...f.options]} : {}),
    ...(help === undefined ? {} : {defaultHelp: async () => help}),
  }
  return f.multiple ? Flags.string({...value, multiple: true}) : Flags.string(value)
}

export function oclifArgs(spec: VerbSpec) {
  const out: Interfaces.ArgInput = {}
  for (const a of spec.args as ArgSpec[]) out[a.name] = Args.string({description: a.description, required: a.required})
  return out
}
