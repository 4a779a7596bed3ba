import {InvalidQueueNameError} from './errors.js'

export const MAX_QUEUE_NAME = 128
const QUEUE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]*$/

/**
 * Queue and topic names, for every engine: letters, digits and `_ . : @ + -`, not starting with
 * `.` or `-`, no `..`, at most 128 characters. (On the spool a name becomes a directory name;
 * the same rule everywhere keeps a queue movable between engines.)
 */
export function validateQueueName(name: string): string {
  if (name.length === 0) throw new InvalidQueueNameError(name, 'empty')
  if (name.length > MAX_QUEUE_NAME) throw new InvalidQueueNameError(name.slice(0, 40) + '…', `longer than ${MAX_QUEUE_NAME} characters`)
  if (name.includes('..')) throw new InvalidQueueNameError(name, 'contains ".."')
  if (!QUEUE_NAME.test(name)) throw new InvalidQueueNameError(name, 'use letters, digits and _ . : @ + - (not starting with . or -)')
  return name
}
