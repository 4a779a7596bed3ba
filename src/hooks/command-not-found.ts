import {type Hook} from '@oclif/core'

import {unknownCommand} from '../cli/grammar.js'
import {reportError} from '../cli/report-error.js'

/** An unknown command is a usage error (64), in one line, with the nearest command when one is near. */
const hook: Hook<'command_not_found'> = async function (opts) {
  reportError(unknownCommand([opts.id.split(':')[0]], opts.config.commandIDs), opts.argv?.includes('--json') ?? false)
}

export default hook
