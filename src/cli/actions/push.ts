import {type Backend} from '../../backend.js'
import {UsageError} from '../../errors.js'
import {type PushInput} from '../../spool/push.js'
import {readRecords, readStdin, requireBody} from '../../stdin.js'

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
}

/** `mq push`: what the command does once its arguments are parsed (shared by oclif and the fast path). */
export async function pushAction(backend: Backend, r: PushRequest): Promise<unknown> {
  const now = Date.now()
  const template: Omit<PushInput, 'body'> = {
    notBefore: r.delay !== undefined ? now + r.delay : r.at,
    priority: r.priority,
  }

  if (r.batch || r.null) {
    if (r.body !== undefined && r.body !== '-') throw new UsageError('--batch reads stdin; do not give a BODY argument')
    const ids: string[] = []
    for await (const group of readRecords(r.null ? 0 : 10, 1000)) {
      const pushed = await backend.push(r.queue, group.map((body) => ({...template, body})))
      if (r.json) ids.push(...pushed.map((p) => p.id))
      else process.stdout.write(pushed.map((p) => p.id).join('\n') + '\n')
    }
    return {ids, queue: r.queue}
  }

  const body = r.body === undefined || r.body === '-' ? requireBody(await readStdin(), Boolean(r.allowEmpty)) : Buffer.from(r.body)
  const [pushed] = await backend.push(r.queue, [{...template, body}])
  if (!r.json) process.stdout.write(pushed.id + '\n')
  return {id: pushed.id, queue: r.queue, state: pushed.state === 'new' ? 'ready' : 'delayed'}
}
