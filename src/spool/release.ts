import {join} from 'node:path'

import {moveFile} from './fs.js'
import {QueueDirs} from './layout.js'
import {formatName, readyName} from './message-name.js'
import {delayDir, readyDir} from './paths.js'
import {notInFlight, resolveReceipt} from './receipt.js'

export interface ReleaseResult {
  id: string
  /** 'new' when ready again at once, 'delay' when it waits until notBefore. */
  state: 'delay' | 'new'
  notBefore?: number
}

/**
 * releaseMessage (nack): give a claimed message back for another delivery. One rename:
 * cur/RECEIPT to new/P/B7/B10/NAME (ready at once, in its original place by enqueue time), or
 * to delay/B7/B10/NAME with "n" set when delayMs > 0. The delivery count is kept (it was raised
 * when claimed), so max-attempts still applies at the next claim; with uncount it is lowered
 * by one again, for deliveries that ended through no fault of the message (consumer shutdown).
 *
 * RACE: as for ack: if a reclaim or an ack moved the file first, ENOENT becomes
 * NotInFlightError and nothing changes.
 */
export function releaseMessage(q: QueueDirs, ref: string, delayMs = 0, now: number = Date.now(), uncount = false): ReleaseResult {
  const {m, name} = resolveReceipt(q, ref)
  const src = join(q.cur, name)
  const ready = readyName(uncount ? {...m, attempt: Math.max(0, m.attempt - 1)} : m)
  if (delayMs > 0) {
    const notBefore = now + delayMs
    if (!moveFile(src, delayDir(q, notBefore), formatName({...ready, notBefore}))) throw notInFlight(q, name)
    return {id: m.id, notBefore, state: 'delay'}
  }
  if (!moveFile(src, readyDir(q, ready), formatName(ready))) throw notInFlight(q, name)
  return {id: m.id, state: 'new'}
}
