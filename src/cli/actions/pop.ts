import {closeSync} from 'node:fs'

import {type Backend} from '../../backend.js'
import {encodeBody, iso, metaJson} from '../../body.js'
import {MqError, NotInFlightError} from '../../errors.js'
import {EXIT} from '../../exit-codes.js'
import {copyToFile, copyToStdout, OutputClosedError, stdoutIsNowhere, writeFileOut, writeStdout} from '../../stdio.js'

export interface PopRequest {
  queue: string
  /** ms; default: the queue's lease. */
  lease?: number
  /** ms */
  wait?: number
  output?: string
  base64?: boolean
  json?: boolean
}

/**
 * `mq pop`: claim one message and print it (receipt line + body, or JSON). The body is streamed
 * from where the engine keeps it (memory stays flat for any size), except under --json, which
 * needs it whole. If the body cannot be handed over (stdout closed, -o on a full disk), the
 * message is given back at once, uncounted, instead of waiting out its lease; the error follows
 * (74). If the reader already settled the delivery with the receipt it read, the pipe closing is
 * its choice, not a failure: exit 0.
 */
export async function popAction(backend: Backend, r: PopRequest): Promise<undefined> {
  // The receipt is the only way to settle the delivery: with stdout closed (or /dev/null) it
  // would be lost and the message held for its whole lease. Refuse before claiming anything.
  if (stdoutIsNowhere()) throw new MqError('output_nowhere', EXIT.IO, 'stdout is closed or /dev/null: the receipt would be lost (nothing was claimed)', 'to drop a message: mq pop Q -o /dev/null | xargs mq ack Q')
  const d = await backend.claim(r.queue, {leaseMs: r.lease, waitMs: r.wait ?? 0})
  if (!d) {
    process.exitCode = EXIT.EMPTY
    return undefined
  }
  /** The body to a file or stdout, from the message's own file where the engine keeps one. */
  const handOver = (toFile?: string) => {
    if (!d.bodyFd) return toFile ? writeFileOut(d.body, toFile) : writeStdout(d.body)
    const fd = d.bodyFd()
    try {
      if (toFile) copyToFile(fd, toFile)
      else copyToStdout(fd)
    } finally {
      closeSync(fd)
    }
  }
  try {
    if (r.output) await handOver(r.output)
    if (r.json) {
      const json = {
        attempt: d.attempt,
        ...(r.output ? {} : encodeBody(d.body, r.base64)),
        enqueuedAt: iso(d.enqueuedAt),
        id: d.id,
        leaseUntil: iso(d.leaseUntil),
        priority: d.priority,
        queue: r.queue,
        receipt: d.receipt,
        ...metaJson(d),
      }
      await writeStdout(JSON.stringify(json) + '\n')
    } else {
      await writeStdout(d.receipt + '\n')
      if (!r.output) await handOver()
    }
  } catch (error) {
    try {
      await backend.release(r.queue, d.receipt, {uncount: true})
    } catch (releaseError) {
      // The reader took the receipt and settled the delivery before it stopped reading
      // (`mq pop q | { read -r r; mq ack q "$r"; }` with a body it did not want): done.
      if (releaseError instanceof NotInFlightError && error instanceof OutputClosedError) return undefined
      throw error
    }
    throw Object.assign(error as Error, {hint: 'the message was given back, this delivery uncounted'})
  }
  return undefined
}
