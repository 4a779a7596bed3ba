import {isUtf8} from 'node:buffer'

/**
 * How bodies appear in JSON: `body` is the text when the bytes are valid UTF-8, else base64
 * with `encoding: "base64"` (or always base64 with --base64). Bytes never go through a lossy
 * decode.
 */
export function encodeBody(body: Uint8Array, forceBase64 = false): {body: string; encoding: 'base64' | 'utf8'} {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (!forceBase64 && isUtf8(buf)) return {body: buf.toString('utf8'), encoding: 'utf8'}
  return {body: buf.toString('base64'), encoding: 'base64'}
}
