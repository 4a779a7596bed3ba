import {type DeadReason, type Delivery, type Failure, type MessageInfo, type MessageState} from '../../backend.js'
import {lazy} from '../../lazy.js'
import {idTime} from '../../message-id.js'

/** A script's reply, as ioredis gives it with the Buffer variants of the commands. */
export type Reply = Array<Buffer | Reply | number | null>

/** A hash's fields (field, value, ... as Buffers) as a map of strings, the body kept as bytes. */
export function fieldsOf(list: Reply, from: number): {body?: Buffer; f: Record<string, string>} {
  const f: Record<string, string> = {}
  let body: Buffer | undefined
  for (let i = from; i + 1 < list.length; i += 2) {
    const k = String(list[i])
    if (k === 'b') body = list[i + 1] as Buffer
    else f[k] = String(list[i + 1])
  }
  return {body, f}
}

export function meta(f: Record<string, string>) {
  return {
    ...(f.k === undefined ? {} : {key: f.k}),
    ...(f.h === undefined ? {} : {headers: JSON.parse(f.h) as Record<string, string>}),
    ...(f.x === undefined ? {} : {expiresAt: Number(f.x)}),
    ...(f.t === undefined ? {} : {topic: f.t}),
  }
}

export function delivery(queue: string, reply: Reply, token: string): Delivery {
  const id = String(reply[1])
  const {body = Buffer.alloc(0), f} = fieldsOf(reply, 5)
  return {
    attempt: Number(reply[2]),
    body,
    enqueuedAt: idTime(id),
    id,
    leaseMs: Number(reply[4]),
    leaseUntil: Number(reply[3]),
    openBody: () => lazy.stream().Readable.from([body]),
    priority: Number(f.p),
    queue,
    receipt: `${id}:${token}`,
    size: body.length,
    ...meta(f),
  }
}

export function info(state: MessageState, m: Buffer[]): MessageInfo {
  const id = String(m[0])
  const {body, f} = fieldsOf(m as Reply, 1)
  const reason: DeadReason | undefined =
    f.rr === undefined ? undefined : {...(JSON.parse(f.rf || '{}') as Failure), at: Number(f.ra), attempts: Number(f.rn), reason: f.rr as DeadReason['reason']}
  return {
    attempt: Number(f.a),
    enqueuedAt: idTime(id),
    id,
    priority: Number(f.p),
    size: Number(f.size),
    state,
    ...(body === undefined ? {} : {body}),
    ...(f.nb === undefined ? {} : {notBefore: Number(f.nb)}),
    ...(f.l === undefined ? {} : {leaseUntil: Number(f.l)}),
    ...meta(f),
    ...(reason ? {reason} : {}),
    ...(f.lf === undefined || state === 'dead' ? {} : {lastFailure: {...(JSON.parse(f.lf) as Failure), at: Number(f.lfa)}}),
  }
}
