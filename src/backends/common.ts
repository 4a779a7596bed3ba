import {type DriverMessage, type PushInput, type Wakeup} from '../backend.js'
import {parseDuration} from '../duration.js'
import {BodyTooLargeError, ConfigError, DataError, NoInputError} from '../errors.js'
import {ID_PATTERN} from '../message-id.js'

/**
 * What several engines do alike, written once: reading bodies whole, reading a server
 * engine's receipt, reading a server URL's options, a wake-up over a notifier.
 */

/**
 * The bodies of a push, each read whole (a stream to its end), for the engines that keep bodies
 * in memory or send them to a server. An empty body read from a stream needs allowEmpty (66).
 */
export async function pushBodies(messages: Array<DriverMessage | PushInput>, limit?: BodyLimit): Promise<Buffer[]> {
  const bodies: Buffer[] = []
  for (const m of messages) bodies.push(await collect(m, limit))
  return bodies
}

/**
 * A server engine's body limit (URL max_body=): a message queue carries messages, and a server
 * holds several copies of a body while it takes it (Redis 3-5x, PostgreSQL 7-11x, measured with
 * 100 MiB bodies), so the default is well below what the protocols allow; max_body= raises it
 * to MAX_BODY_CAP at most.
 */
export const DEFAULT_MAX_BODY = 32 * 1024 ** 2
export const MAX_BODY_CAP = 512 * 1024 ** 2

/** The largest body an engine takes (its URL's max_body=), and the queue it is for (messages). */
export interface BodyLimit {
  bytes: number
  kind: string
  queue: string
}

/** A size for people: 64MiB, 512KiB, 100 bytes. */
export function formatSize(n: number): string {
  for (const [unit, f] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (n >= f && n % f === 0) return `${n / f}${unit}`
  return `${n} bytes`
}

/**
 * A body read whole; with a limit, refused (BodyTooLargeError, 65) as soon as it is known to be
 * larger: a stream is not read on past the limit, and nothing has been sent anywhere yet.
 */
async function collect(input: DriverMessage | PushInput, limit?: BodyLimit): Promise<Buffer> {
  const tooLarge = (n: number) => new BodyTooLargeError(limit!.queue, n, limit!.kind, formatSize(limit!.bytes))
  if (input.body instanceof Uint8Array) {
    if (limit && input.body.length > limit.bytes) throw tooLarge(input.body.length)
    return Buffer.from(input.body)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of input.body) {
    chunks.push(Buffer.from(c))
    size += c.length
    if (limit && size > limit.bytes) throw tooLarge(size)
  }
  const body = Buffer.concat(chunks)
  if (body.length === 0 && !input.allowEmpty) throw new NoInputError('empty message body on stdin', 'pass --allow-empty to push an empty message')
  return body
}

/**
 * A receipt of the memory and server engines, ID:TOKEN (the token in hex), or a bare message id (no token: it
 * settles whatever delivery of the message is in flight). Anything else is a DataError (65).
 */
export function parseReceipt(queue: string, receipt: string): {id: string; token: string} {
  const parts = receipt.split(':')
  const [id, token = ''] = parts
  if (parts.length > 2 || !ID_PATTERN.test(id) || !/^[0-9a-f]*$/.test(token)) throw new DataError(`${queue}: ${JSON.stringify(receipt)} is neither a receipt nor a message id`)
  return {id, token}
}

/**
 * The options of a server URL (?name=value): each read once with `take`, durations parsed as
 * on the command line; a mistake, or an option nobody took (`rest` says so), is a ConfigError
 * (78) that names the URL.
 */
export class UrlOptions {
  readonly url: URL
  /** The URL as messages show it: its password masked. */
  readonly text: string
  constructor(text: string) {
    try {
      this.url = new URL(text)
    } catch {
      throw new ConfigError(`not a URL: ${JSON.stringify(text.replace(/:[^:@/]*@/, ':***@'))}`)
    }
    const shown = new URL(text)
    if (shown.password) shown.password = '***'
    this.text = shown.toString()
  }

  take(name: string): string | undefined {
    const v = this.url.searchParams.get(name) ?? undefined
    this.url.searchParams.delete(name)
    return v
  }

  duration(name: string, dflt: number): number {
    const v = this.take(name)
    if (v === undefined) return dflt
    try {
      return parseDuration(v, name, 1)
    } catch (error) {
      throw new ConfigError(`${this.text}: ${name}=: ${(error as Error).message}`)
    }
  }

  /**
   * A size in bytes: a whole number with an optional unit, KiB, MiB or GiB (powers of 1024; k, M,
   * G and KB, MB, GB are read the same), between 1 and `max` bytes.
   */
  size(name: string, dflt: number, max: number): number {
    const v = this.take(name)
    if (v === undefined) return dflt
    const m = /^(\d{1,10})\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)$/i.exec(v.trim())
    const n = m ? Number(m[1]) * 1024 ** ['', 'k', 'm', 'g'].indexOf((m[2][0] ?? '').toLowerCase().replace('b', '')) : Number.NaN
    if (!m || !(n >= 1) || n > max) throw this.error(`${name}= takes a size from 1 byte to ${formatSize(max)} (64MiB, 512KiB, 1000000)`)
    return n
  }

  error(why: string): ConfigError {
    return new ConfigError(`${this.text}: ${why}`)
  }

  /** Options nobody took, for engines that pass none on. */
  rest(): string[] {
    return [...this.url.searchParams.keys()]
  }
}

/**
 * A Wakeup (src/backend.ts) over an engine's own notifier: `arm(fire)` registers fire with it
 * now (so a change from this moment on is not missed) and returns how to unregister. The wait
 * ends on the first fire, after ms, or on abort; a fire before the wait ends it at once.
 */
export function wakeupFrom(arm: (fire: () => void) => () => void): Wakeup {
  let fired = false
  let end: (() => void) | undefined
  const disarm = arm(() => {
    fired = true
    end?.()
  })
  return {
    close: disarm,
    wait: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (fired || signal?.aborted) return resolve()
        const done = () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', done)
          end = undefined
          resolve()
        }
        const timer = setTimeout(done, ms)
        end = done
        signal?.addEventListener('abort', done, {once: true})
      }),
  }
}
