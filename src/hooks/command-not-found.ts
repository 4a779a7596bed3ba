import {type Hook} from '@oclif/core'

import {closest} from '../cli/grammar.js'
import {reportError} from '../cli/report-error.js'
import {UsageError} from '../errors.js'

/** An unknown command is a usage error (64), in one line, with the nearest command when one is near. */
const hook: Hook<'command_not_found'> = async function (opts) {
  const word = opts.id.split(':')[0]
  const near = closest(word, opts.config.commandIDs)
  reportError(new UsageError(`unknown command "${word}"`, near ? `did you mean "mq ${near}"?` : 'see mq --help'), opts.argv?.includes('--json') ?? false)
}

export default hook
