import {type Hook} from '@oclif/core'

import {UsageError} from '../errors.js'
import {reportError} from '../cli/report-error.js'

/** An unknown command is a usage error (64), reported in one line like every other error. */
const hook: Hook<'command_not_found'> = async function (opts) {
  reportError(new UsageError(`unknown command "${opts.id.split(":")[0]}"`, 'see mq --help'), opts.argv?.includes('--json') ?? false)
}

export default hook
