import {type Backend} from '../../backend.js'
import {iso} from '../../body.js'
import {writeStderr} from '../../stdio.js'
import {reportError} from '../report-error.js'

/**
 * `mq ack QUEUE RECEIPT...`: every receipt is tried, each failure reported on its own line;
 * the exit status is the first failure's. One bad receipt must not leave the others unacked.
 */
export async function ackAction(backend: Backend, queue: string, receipts: string[], json: boolean): Promise<unknown> {
  const acked: string[] = []
  let failed: number | undefined
  for (const receipt of receipts) {
    try {
      acked.push(await backend.ack(queue, receipt))
    } catch (error) {
      const code = reportError(error as Error, json)
      failed ??= code
    }
  }
  if (failed !== undefined) {
    process.exitCode = failed
    return undefined
  }
  return {acked, queue}
}

/**
 * `mq nack QUEUE RECEIPT`: give the message back, now or after delayMs; the queue's last
 * allowed delivery dead-letters it instead (state "dead"): still a success (status 0), said on
 * stderr for people (JSON says it in "state"), since the message will not come back by itself.
 */
export async function nackAction(backend: Backend, queue: string, receipt: string, delayMs = 0, json = false): Promise<unknown> {
  const r = await backend.release(queue, receipt, {delayMs, failure: {lastError: 'given back (nack)'}})
  if (r.state === 'dead' && !json) writeStderr(`mq: ${queue}: ${r.id}: that was its last allowed delivery (mq config ${queue} --max-attempts): dead-lettered, see mq peek ${queue} --state dead\n`)
  return {
    id: r.id,
    queue,
    state: r.state,
    ...(r.notBefore ? {notBefore: iso(r.notBefore)} : {}),
  }
}
