import {type Delivery, type MessageState} from '../../backend.js'
import {lazy} from '../../lazy.js'

/** A row of S.messages as node-postgres gives it (bigints as strings). */
export interface Row {
  queue: string
  id: string
  body: Buffer
  priority: number
  attempt: number
  state: MessageState
  enqueued_at: string
  not_before: null | string
  lease_until: null | string
  token: null | string
  expires_at: null | string
  key: null | string
  headers: null | string
  topic: null | string
  reason: null | string
}

export function meta(r: Row) {
  return {
    ...(r.key === null ? {} : {key: r.key}),
    ...(r.headers === null ? {} : {headers: JSON.parse(r.headers) as Record<string, string>}),
    ...(r.expires_at === null ? {} : {expiresAt: Number(r.expires_at)}),
    ...(r.topic === null ? {} : {topic: r.topic}),
  }
}

export function delivery(queue: string, r: Row & {lease_ms: string}): Delivery {
  const body = r.body
  return {
    attempt: r.attempt,
    body,
    enqueuedAt: Number(r.enqueued_at),
    id: r.id,
    leaseMs: Number(r.lease_ms),
    leaseUntil: Number(r.lease_until),
    openBody: () => lazy.stream().Readable.from([body]),
    priority: r.priority,
    queue,
    receipt: `${r.id}:${r.token}`,
    size: body.length,
    ...meta(r),
  }
}
