export {hoistGlobalOptions} from './grammar.js'
import {FastPathDeclined} from './decline.js'
import {reportError} from './report-error.js'
import {isVerb, runCommand} from './run-command.js'

/**
 * The fast path for the hot verbs (push, pop, ack, nack, consume). Loading @oclif/core costs
 * about as much as starting Node itself, shell loops pay it per message, and a consumer that
 * carries it spawns its handlers more slowly (a larger process forks more slowly). So
 * bin/run.cjs hands these verbs here first. The grammar and the actions are the ones the oclif
 * commands use (grammar.ts, run-command.ts), so both paths answer alike by construction; only --help
 * is left to oclif, which renders it. Returns false, having done nothing, for oclif to take.
 */
export async function runFast(argv: string[]): Promise<boolean> {
  const [verb, ...rest] = argv
  if (!isVerb(verb) || helpAsked(rest)) return false
  try {
    await runCommand(verb, rest)
  } catch (error) {
    if (error instanceof FastPathDeclined) return false
    reportError(error as Error, rest.includes('--json'))
  }
  return true
}

/** --help or -h before any "--" (after it, they are a handler's arguments). */
function helpAsked(argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')
}
