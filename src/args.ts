import {Args, Flags} from '@oclif/core'

import {parseDuration} from './duration.js'
import {UsageError} from './errors.js'
import {validateQueueName} from './queue-name.js'

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
  defaultHelp: async () => "the queue's (mq config; 5m)",
  description: 'how long a claim lasts without an ack before the message is delivered again',
})

/**
 * --max-attempts on pop and consume: refused with a pointer to where it lives now. Max attempts
 * is the queue's policy (mq config QUEUE --max-attempts N), so that every consumer of a queue
 * applies the same limit.
 */
export const movedMaxAttemptsFlag = Flags.custom<number>({
  hidden: true,
  parse: async () => {
    throw new UsageError("--max-attempts is the queue's setting now, the same for every consumer: mq config QUEUE --max-attempts N")
  },
})()
