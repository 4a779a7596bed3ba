import {isUtf8} from 'node:buffer'

import {type MessageInfo} from './backend.js'

/**
 * How messages appear in JSON. Bodies: `body` is the text when the bytes are valid UTF-8, else base64
 * with `encoding: "base64"` (or always base64 with --base64). Bytes never go through a lossy
 * decode.
 */
export function encodeBody(body: Uint8Array, forceBase64 = false): {body: string; encoding: 'base64' | 'utf8'} {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (!forceBase64 && isUtf8(buf)) return {body: buf.toString('utf8'), encoding: 'utf8'}
  return {body: buf.toString('base64'), encoding: 'base64'}
}

/** Times in JSON are ISO 8601 strings, everywhere. */
export const iso = (ms: number) => new Date(ms).toISOString()

/** What a message may carry besides its body, as JSON (absent fields left out). */
export function metaJson(m: Pick<MessageInfo, 'expiresAt' | 'headers' | 'key' | 'topic'>): Record<string, unknown> {
  return {
    ...(m.expiresAt === undefined ? {} : {expiresAt: iso(m.expiresAt)}),
    ...(m.key === undefined ? {} : {key: m.key}),
    ...(m.headers === undefined ? {} : {headers: m.headers}),
    ...(m.topic === undefined ? {} : {topic: m.topic}),
  }
}

/** A message as peek shows it in JSON: ISO times, the body as UTF-8 or base64. */
export function messageJson(m: MessageInfo, base64 = false): Record<string, unknown> {
  return {
    attempt: m.attempt,
    ...(m.body ? encodeBody(m.body, base64) : {}),
    enqueuedAt: iso(m.enqueuedAt),
    id: m.id,
    priority: m.priority,
    size: m.size,
    state: m.state,
    ...(m.notBefore === undefined ? {} : {notBefore: iso(m.notBefore)}),
    ...(m.leaseUntil === undefined ? {} : {leaseUntil: iso(m.leaseUntil)}),
    ...metaJson(m),
    ...(m.reason ? {reason: {...m.reason, at: iso(m.reason.at)}} : {}),
    ...(m.lastFailure ? {lastFailure: {...m.lastFailure, at: iso(m.lastFailure.at)}} : {}),
  }
}
