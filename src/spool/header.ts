import {closeSync, readSync} from 'node:fs'

import {UsageError} from '../errors.js'
import {openRegular} from './fs.js'

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

/** A key plus headers (and the rest of the header line) of 64 KiB or more: a usage error (64). */
export class HeaderTooLargeError extends UsageError {
  constructor(bytes: number) {
    super(`the message header (--key, --header, --ttl) is ${bytes} bytes; the limit is ${MAX_HEADER_BYTES - 1} bytes (64 KiB)`)
  }
}

export function hasHeaderFields(h: MessageHeader | undefined): h is MessageHeader {
  return Boolean(h && Object.values(h).some((v) => v !== undefined))
}

export function encodeHeader(h: MessageHeader): Buffer {
  const line = JSON.stringify(h)
  if (Buffer.byteLength(line) >= MAX_HEADER_BYTES) throw new HeaderTooLargeError(Buffer.byteLength(line))
  return Buffer.from(line + '\n')
}

/** Splits a whole message file into header and body. Throws CorruptMessageError on a bad header. */
export function decodeMessage(data: Buffer, hasHeader: boolean): {header: MessageHeader; body: Buffer} {
  if (!hasHeader) return {body: data, header: {}}
  const nl = data.indexOf(10)
  if (nl < 0 || nl >= MAX_HEADER_BYTES) throw new CorruptMessageError('header line missing or longer than 64 KiB')
  return {body: data.subarray(nl + 1), header: parseHeaderLine(data.subarray(0, nl))}
}

/** The start of a message file, read in one call: small files need no second read. */
export const FIRST_READ_BYTES = 64 * 1024

export interface MessageStart {
  header: MessageHeader
  /** Where the body starts in the file. */
  bodyOffset: number
  /** Size of the body in bytes. */
  bodySize: number
  /** The whole body, when the file fit in the first read. */
  body?: Buffer
}

/**
 * Reads the header (when the name has "h") and, for a small file, the body too, from an open
 * message file of `size` bytes. Throws CorruptMessageError on a bad header.
 */
const scratch = Buffer.allocUnsafe(Math.max(FIRST_READ_BYTES, MAX_HEADER_BYTES + 1))

export function readMessageStart(fd: number, size: number, hasHeader: boolean): MessageStart {
  const want = Math.min(size, scratch.length)
  const buf = scratch // read into one buffer of this process; what is kept is copied out
  let n = 0
  while (n < want) {
    const got = readSync(fd, buf, n, want - n, n)
    if (got === 0) break
    n += got
  }
  const head = buf.subarray(0, n)
  let header: MessageHeader = {}
  let bodyOffset = 0
  if (hasHeader) {
    const nl = head.indexOf(10)
    if (nl < 0 || nl >= MAX_HEADER_BYTES) throw new CorruptMessageError('header line missing or longer than 64 KiB')
    header = parseHeaderLine(head.subarray(0, nl))
    bodyOffset = nl + 1
  }
  const bodySize = Math.max(0, size - bodyOffset)
  return {body: n >= size ? Buffer.from(head.subarray(bodyOffset)) : undefined, bodyOffset, bodySize, header}
}

/** Reads a message file's header safely (no FIFO, no symlink), for inspection. */
export function readHeaderAt(path: string, hasHeader: boolean): MessageStart {
  const {fd, size} = openRegular(path)
  try {
    return readMessageStart(fd, size, hasHeader)
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
