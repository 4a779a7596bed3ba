import {accessSync, constants} from 'node:fs'
import {delimiter, isAbsolute, join, resolve} from 'node:path'
import {parse} from 'shell-quote'

import {MqError, UsageError} from '../errors.js'
import {EXIT} from '../exit-codes.js'

/**
 * The handler's argv. --exec "PROG ARGS" is split into words shell-style (quotes respected)
 * but run without a shell: no expansion, no pipes, and message content never reaches a
 * command line. --shell LINE runs LINE with /bin/sh -c. Words after "--" are appended.
 */
export function handlerArgv(exec: string | undefined, shellLine: string | undefined, rest: string[]): string[] {
  let argv: string[]
  if (shellLine !== undefined) argv = ['/bin/sh', '-c', shellLine, 'mq-handler']
  else if (exec !== undefined) {
    checkQuotes(exec)
    const words = parse(exec, (name) => `$${name}`)
    if (words.some((w) => typeof w !== 'string'))
      throw new UsageError('--exec runs a program without a shell; for pipes, redirections or globs use --shell')
    argv = words as string[]
  } else argv = []
  argv = [...argv, ...rest]
  if (argv.length === 0) throw new UsageError('no handler: give --exec PROGRAM, --shell LINE, or -- PROGRAM ARGS...')
  findProgram(argv[0])
  return argv
}

/** An unterminated quote or a trailing backslash is a usage error (shell-quote would guess). */
function checkQuotes(line: string): void {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '\\' && quote !== "'") {
      if (++i >= line.length) throw new UsageError('--exec ends with a backslash')
    } else if (quote) {
      if (c === quote) quote = undefined
    } else if (c === '"' || c === "'") quote = c
  }
  if (quote) throw new UsageError(`--exec has an unterminated ${quote === '"' ? 'double' : 'single'} quote: ${JSON.stringify(line)}`)
}

/** Fails early (exit 69) if the program is not there to run, instead of failing every message. */
function findProgram(program: string): string {
  const candidates = program.includes('/') ? [resolve(program)] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, program))
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK)
      return isAbsolute(c) ? c : resolve(c)
    } catch {
      // next
    }
  }
  throw new MqError('handler_not_found', EXIT.UNAVAILABLE, `handler not found or not executable: ${program}`)
}
