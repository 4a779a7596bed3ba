import {writeFileSync} from 'node:fs'

import {type Backend} from '../../backend.js'
import {encodeBody} from '../../body.js'
import {ioError} from '../../errors.js'
import {EXIT} from '../../exit-codes.js'

export interface PopRequest {
  queue: string
  leaseMs: number
  maxAttempts: number
  waitMs?: number
  output?: string
  base64?: boolean
  json?: boolean
}

/** `mq pop`: claim one message and print it (receipt line + body, or JSON). */
export async function popAction(backend: Backend, r: PopRequest): Promise<unknown> {
  const d = await backend.claim(r.queue, {leaseMs: r.leaseMs, maxAttempts: r.maxAttempts, waitMs: r.waitMs ?? 0})
  if (!d) {
    process.exitCode = EXIT.EMPTY
    return undefined
  }
  if (r.output) {
    try {
      writeFileSync(r.output, d.body)
    } catch (error) {
      // The claim stands; its lease will expire and the message come back.
      throw ioError('write', r.output, error)
    }
  }
  if (r.json) {
    return {
      attempt: d.attempt,
      ...(r.output ? {} : encodeBody(d.body, r.base64)),
      enqueuedAt: new Date(d.enqueuedAt).toISOString(),
      id: d.id,
      leaseUntil: new Date(d.leaseUntil).toISOString(),
      priority: d.priority,
      queue: r.queue,
      receipt: d.receipt,
      ...(d.header.key === undefined ? {} : {key: d.header.key}),
      ...(d.header.headers === undefined ? {} : {headers: d.header.headers}),
    }
  }
  process.stdout.write(d.receipt + '\n')
  if (!r.output) process.stdout.write(d.body)
  return undefined
}
