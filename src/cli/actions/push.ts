import {type Backend, type PushInput} from '../../backend.js'
import {UsageError} from '../../errors.js'
import {EXIT} from '../../exit-codes.js'
import {readRecords, stdinBody} from '../../stdin.js'
import {spinnerAllowed, startSpinner} from '../../output.js'
import {writeStderr, writeStdoutSync} from '../../stdio.js'

export interface PushRequest {
  queue: string
  /** The BODY argument; undefined or "-" reads stdin. */
  body?: string
  batch?: boolean
  null?: boolean
  priority?: number
  /** ms from now */
  delay?: number
  /** ms since epoch */
  at?: number
  allowEmpty?: boolean
  json?: boolean
  /** Idempotency key and how long it holds (ms). */
  key?: string
  keyTtl?: number
  /** Expiry: not delivered later than this long from now (ms). */
  ttl?: number
  /** A full queue: wait up to this long for room (ms). */
  wait?: number
  /** NAME=VALUE user headers. */
  header?: string[]
}

/** `mq push`: what the command does once its arguments are parsed (shared by oclif and the fast path). */
export async function pushAction(backend: Backend, r: PushRequest): Promise<unknown> {
  const now = Date.now()
  const template: Omit<PushInput, 'body'> = {
    expiresAt: r.ttl === undefined ? undefined : now + r.ttl,
    headers: r.header?.length ? parseHeaders(r.header) : undefined,
    key: r.key,
    notBefore: r.delay !== undefined ? now + r.delay : r.at,
    priority: r.priority,
  }
  const opts = {keyTtlMs: r.keyTtl, waitMs: r.wait}
  if (r.key !== undefined && (r.batch || r.null)) throw new UsageError('--key applies to one message; it cannot be used with --batch')

  if (r.batch || r.null) {
    if (r.body !== undefined && r.body !== '-') throw new UsageError('--batch reads stdin; do not give a BODY argument')
    const ids: string[] = []
    // On a terminal, a long batch shows how far it got (stderr; stdout has the ids).
    const spinner = spinnerAllowed() ? await startSpinner(`${r.queue}: 0 pushed`) : undefined
    let n = 0
    try {
      for await (const group of readRecords(r.null ? 0 : 10, 1000)) {
        const pushed = await backend.push(r.queue, group.map((body) => ({...template, body})), opts)
        n += pushed.length
        spinner?.update(`${r.queue}: ${n} pushed`)
        if (r.json) ids.push(...pushed.map((p) => p.id))
        else {
          spinner?.clear()
          writeStdoutSync(pushed.map((p) => p.id).join('\n') + '\n')
        }
      }
    } finally {
      spinner?.stop()
    }
    // The count the spinner showed last may be a group behind: the total, for the person watching.
    if (spinner) writeStderr(`mq: ${r.queue}: ${n} pushed\n`)
    return {ids, queue: r.queue}
  }

  const body = r.body === undefined || r.body === '-' ? await stdinBody(Boolean(r.allowEmpty)) : Buffer.from(r.body)
  const [pushed] = await backend.push(r.queue, [{...template, allowEmpty: r.allowEmpty, body}], opts)
  if (pushed.duplicate) {
    // Scripts test for 4; the id printed is the first message's. People read why.
    process.exitCode = EXIT.DUPLICATE
    if (!r.json) {
      writeStdoutSync(pushed.id + '\n')
      writeStderr(`mq: ${r.queue}: the key ${JSON.stringify(r.key)} is held by message ${pushed.id}, pushed earlier; nothing pushed (exit 4)\n`)
    }
    return {duplicate: true, id: pushed.id, key: r.key, queue: r.queue}
  }
  if (!r.json) writeStdoutSync(pushed.id + '\n')
  return {id: pushed.id, queue: r.queue, state: pushed.state}
}

/** --header NAME=VALUE, each once; NAME is letters, digits, _ and -. */
export function parseHeaders(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs) {
    const eq = p.indexOf('=')
    const name = p.slice(0, eq)
    if (eq < 1 || !/^[A-Za-z0-9_-]+$/.test(name)) throw new UsageError(`--header: expected NAME=VALUE, got ${JSON.stringify(p)}`)
    out[name] = p.slice(eq + 1)
  }
  return out
}
