import {Args, Flags, type Interfaces} from '@oclif/core'

import {formatDuration} from '../duration.js'
import {type FlagSpec, type VerbSpec} from './grammar.js'

/**
 * oclif's view of a verb declared in grammar.ts: what --help, the manifest and shell completion
 * read. The command classes do not let oclif parse (they call parseCommandLine), so this only
 * describes; the one grammar stays in grammar.ts.
 */
export function oclifFlags(flags: Record<string, FlagSpec>, helpGroup?: string): Interfaces.FlagInput {
  return Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, oclifFlag(f, helpGroup)]))
}

function oclifFlag(f: FlagSpec, helpGroup?: string): Interfaces.FlagInput[string] {
  // oclif's one-letter names must be letters: push's -0 is described in the text instead.
  const char = f.char && /^[a-zA-Z]$/.test(f.char) ? (f.char as 'a') : undefined
  const common = {char, description: f.description, helpGroup, hidden: Boolean(f.refuse), ...(f.exclusive ? {exclusive: [...f.exclusive]} : {})}
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

export function oclifArgs(spec: VerbSpec): Interfaces.ArgInput {
  return Object.fromEntries(spec.args.map((a) => [a.name, Args.string({description: a.description, required: a.required})]))
}
