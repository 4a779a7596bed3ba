import {Args, Flags} from '@oclif/core'

import {DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS} from './cli/defaults.js'
import {parseDuration} from './duration.js'
import {validateQueueName} from './spool/layout.js'

/** A queue-name argument, validated before anything touches the spool. */
export const queueArg = Args.custom<string>({
  description: 'queue name',
  parse: async (input) => validateQueueName(input),
})

/** A duration flag, parsed to milliseconds (see duration.ts for the syntax). */
export const durationFlag = Flags.custom<number>({
  parse: async (input, _ctx, opts) => parseDuration(input, opts.name),
})

export const leaseFlag = Flags.custom<number>({
  parse: async (input) => parseDuration(input, 'lease'),
})({
  default: async () => parseDuration(DEFAULT_LEASE, 'lease'),
  defaultHelp: async () => DEFAULT_LEASE,
  description: 'how long a claim lasts without an ack before the message is delivered again',
})

export const maxAttemptsFlag = Flags.integer({
  default: DEFAULT_MAX_ATTEMPTS,
  description: 'deliveries before a message is dead-lettered instead of delivered again',
  min: 1,
})
