import {closeSync, openSync, readSync} from 'node:fs'

/**
 * Immutable per-message metadata that does not fit in a file name (dedup key, user headers,
 * expiry). When a message's name has the "h" field, its file starts with exactly one line of
 * JSON (an object, at most 64 KiB, ending in "\n"); the body is every byte after that newline.
 * Without "h" the whole file is the body, which is all a foreign producer needs to write.
 */
export interface MessageHeader {
  /** Idempotency key given at push (`--key`). */
  key?: string
  /** User headers (`--header NAME=VALUE`). */
  headers?: Record<string, string>
  /** Expiry, ms since epoch (`--ttl`): not delivered after this. */
  expiresAt?: number
  /** The topic this copy was fanned out from. */
  topic?: string
}

export const MAX_HEADER_BYTES = 64 * 1024

export class CorruptMessageError extends Error {}

export function hasHeaderFields(h: MessageHeader | undefined): h is MessageHeader {
  return Boolean(h && Object.values(h).some((v) => v !== undefined))
}

export function encodeHeader(h: MessageHeader): Buffer {
  const line = JSON.stringify(h)
  if (Buffer.byteLength(line) >= MAX_HEADER_BYTES) throw new RangeError('message header is larger than 64 KiB')
  return Buffer.from(line + '\n')
}

/** Splits a whole message file into header and body. Throws CorruptMessageError on a bad header. */
export function decodeMessage(data: Buffer, hasHeader: boolean): {header: MessageHeader; body: Buffer} {
  if (!hasHeader) return {body: data, header: {}}
  const nl = data.indexOf(10)
  if (nl < 0 || nl >= MAX_HEADER_BYTES) throw new CorruptMessageError('header line missing or longer than 64 KiB')
  return {body: data.subarray(nl + 1), header: parseHeaderLine(data.subarray(0, nl))}
}

/** Reads only the header of a message file, and where its body starts (for streaming the body). */
export function readHeader(path: string, hasHeader: boolean): {header: MessageHeader; bodyOffset: number} {
  if (!hasHeader) return {bodyOffset: 0, header: {}}
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(MAX_HEADER_BYTES)
    const n = readSync(fd, buf, 0, buf.length, 0)
    const nl = buf.subarray(0, n).indexOf(10)
    if (nl < 0) throw new CorruptMessageError('header line missing or longer than 64 KiB')
    return {bodyOffset: nl + 1, header: parseHeaderLine(buf.subarray(0, nl))}
  } finally {
    closeSync(fd)
  }
}

function parseHeaderLine(line: Buffer): MessageHeader {
  let h: unknown
  try {
    h = JSON.parse(line.toString('utf8'))
  } catch {
    throw new CorruptMessageError('header line is not JSON')
  }
  if (!h || typeof h !== 'object' || Array.isArray(h)) throw new CorruptMessageError('header line is not a JSON object')
  return h as MessageHeader
}
