import {type Backend, type Fate, type MessageInfo} from '../../backend.js'
import {iso, messageJson} from '../../body.js'
import {confirmOrForce} from '../../confirm.js'
import {formatAge, formatDuration} from '../../duration.js'
import {MqError, NoInputError, UsageError} from '../../errors.js'
import {EXIT} from '../../exit-codes.js'
import {palette} from '../../output.js'
import {writeStderr, writeStdout, writeStdoutSync} from '../../stdio.js'
import {reportError} from '../report-error.js'

/**
 * Seeing and steering single messages and whole queues: show, wait, cancel, drop. Each asks
 * the contract (src/backend.ts: show, fates, cancel, drop), so each works on every engine.
 */

/**
 * show: one message. For people, a field per line; --json, the message as peek --json gives
 * it; --body, the body alone, byte for byte (for a pipe). Unknown id: 66, saying that an engine
 * which deletes acked messages cannot show them.
 */
export async function showAction(b: Backend, r: {queue: string; id: string; body?: boolean; json?: boolean}): Promise<unknown> {
  const m = await b.show(r.queue, r.id, {body: Boolean(r.body || r.json)})
  if (!m) {
    const acked = b.capabilities.keepsDone ? '' : ` (${b.kind} does not keep acked messages: mq wait ${r.queue} ${r.id} says whether it was done)`
    throw new NoInputError(`${r.queue}: no message ${r.id}${acked}`)
  }
  if (r.body) {
    await writeStdout(m.body ?? Buffer.alloc(0))
    return undefined
  }
  if (r.json) return {queue: r.queue, ...messageJson(m)}
  writeStdoutSync(await describeMessage(r.queue, m))
  return undefined
}

async function describeMessage(queue: string, m: MessageInfo): Promise<string> {
  const c = await palette()
  const now = Date.now()
  const when = (ms: number) => `${iso(ms)} (${ms >= now ? `in ${formatAge(ms - now)}` : `${formatAge(now - ms)} ago`})`
  const rows: Array<[string, string | undefined]> = [
    ['id', m.id],
    ['queue', queue],
    ['state', m.state === 'dead' ? c.red('dead') : m.state],
    ['attempts', String(m.attempt)],
    ['priority', String(m.priority)],
    ['size', `${m.size} byte${m.size === 1 ? '' : 's'}`],
    ['enqueued', when(m.enqueuedAt)],
    ['not before', m.notBefore === undefined ? undefined : when(m.notBefore)],
    ['lease until', m.leaseUntil === undefined ? undefined : when(m.leaseUntil)],
    ['expires', m.expiresAt === undefined ? undefined : when(m.expiresAt)],
    ['key', m.key],
    ['topic', m.topic],
    ...Object.entries(m.headers ?? {}).map(([k, v]): [string, string] => [`header ${k}`, v]),
  ]
  if (m.reason) {
    const r = m.reason
    rows.push(
      ['dead because', `${r.reason} after ${r.attempts} deliver${r.attempts === 1 ? 'y' : 'ies'}, ${when(r.at)}`],
      ['last error', r.lastError],
      ['exit status', r.exitCode === undefined ? undefined : String(r.exitCode)],
      ['signal', r.signal],
    )
  }
  const f = m.lastFailure
  if (f) {
    rows.push(
      ['last failure', `${f.lastError ?? 'failed'}, ${when(f.at)}`],
      ['exit status', f.exitCode === undefined ? undefined : String(f.exitCode)],
      ['signal', f.signal],
    )
  }
  const shown = rows.filter((row): row is [string, string] => row[1] !== undefined)
  const width = Math.max(...shown.map(([k]) => k.length))
  let out = shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n'
  const tail = m.reason?.stderrTail ?? m.lastFailure?.stderrTail
  if (tail) out += `stderr (tail):\n${tail.replace(/\n?$/, '\n')}`
  return out
}

/** How often wait looks, growing from the first to the last: a job that ends quickly is seen quickly, a long one costs little. */
const WAIT_POLL_MS = [50, 100, 200, 400, 800, 1000]

/**
 * wait: blocks until each message is done or dead. Prints "ID done" / "ID dead" as each ends
 * (stdout; --json: the list at the end). Exit 0 when all are done; 65 when one or more died
 * (the same status as consume --drain's); 66 for an id the queue does not know (at the start:
 * a mistyped id fails at once), or one that vanished unfinished (cancelled, purged, dropped, or
 * acked so long ago that an engine which deletes acked messages forgot it); 75 when --timeout
 * ran out first (nothing is wrong yet: wait again).
 */
export async function waitAction(b: Backend, r: {queue: string; id: string[]; timeout?: number; json?: boolean}): Promise<unknown> {
  const ids = [...new Set(r.id)]
  const until = r.timeout === undefined ? Number.POSITIVE_INFINITY : performance.now() + r.timeout
  const ended = new Map<string, Fate>()
  let pending = ids
  for (let round = 0; ; round++) {
    const fates = await b.fates(r.queue, pending)
    const still: string[] = []
    for (const [i, id] of pending.entries()) {
      const f = fates[i]
      if (f === 'pending') still.push(id)
      else {
        ended.set(id, f)
        if (!r.json && f !== 'unknown') writeStdoutSync(`${id} ${f}\n`)
      }
    }
    pending = still
    // An id unknown from the start is a mistake: say so now rather than after the others.
    const unknown = [...ended].filter(([, f]) => f === 'unknown').map(([id]) => id)
    if (round === 0 && unknown.length > 0) break
    if (pending.length === 0) break
    const left = until - performance.now()
    if (left <= 0) break
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, WAIT_POLL_MS[Math.min(round, WAIT_POLL_MS.length - 1)])))
  }
  const result = {dead: [] as string[], done: [] as string[], pending, queue: r.queue, unknown: [] as string[]}
  for (const id of ids) {
    const f = ended.get(id)
    if (f) result[f === 'pending' ? 'pending' : f].push(id)
  }
  const error =
    result.unknown.length > 0
      ? new NoInputError(`${r.queue}: no such message, or it went unfinished (cancelled, purged, dropped, or acked and forgotten): ${result.unknown.join(', ')}`)
      : result.dead.length > 0
        ? new MqError('dead', EXIT.DATA, `${r.queue}: dead-lettered: ${result.dead.join(', ')}`, `mq show ${r.queue} ID says why`)
        : pending.length > 0
          ? new MqError('wait_timeout', EXIT.TEMP_FAIL, `${r.queue}: ${pending.length} not finished within ${formatDuration(r.timeout ?? 0)}: ${pending.join(', ')}`, 'wait again')
          : undefined
  if (error) {
    if (!r.json) throw error
    reportError(error, true)
  }
  return result
}

/**
 * cancel: the messages that are ready or delayed are removed (their ids printed); one in
 * flight (its consumer's), dead or done is refused, and an unknown id reported: either makes
 * the status 66, after the others are cancelled.
 */
export async function cancelAction(b: Backend, r: {queue: string; id: string[]; json?: boolean}): Promise<unknown> {
  const res = await b.cancel(r.queue, [...new Set(r.id)])
  if (!r.json && res.cancelled.length > 0) writeStdoutSync(res.cancelled.join('\n') + '\n')
  const why = {dead: 'dead (mq purge --state dead, or mq requeue)', delayed: '', done: 'done already', inflight: 'in flight: it belongs to its consumer (nack it, or let its lease end)', ready: ''}
  const lines = [...res.refused.map(({id, state}) => `${id}: not cancelled: ${why[state]}`), ...res.unknown.map((id) => `${id}: no such message`)]
  if (lines.length > 0) {
    const error = new NoInputError(`${r.queue}: ${lines.join('; ')}`)
    if (!r.json) throw error
    reportError(error, true)
  }
  return {queue: r.queue, ...res}
}

/**
 * drop: the queue and everything in it, after asking (on a terminal) or with --force. Prints
 * nothing on stdout; says on stderr how many messages went.
 */
export async function dropAction(b: Backend, r: {queue: string; force?: boolean; json?: boolean}): Promise<unknown> {
  const [s] = await b.stats(r.queue)
  // Counts an engine cannot tell (RabbitMQ's in flight and delayed) are said to be unknown.
  const total = `${s.ready + (s.delayed ?? 0) + (s.inflight ?? 0) + s.dead + (s.done ?? 0)}${s.unknown?.length ? ` (and any ${s.unknown.filter((f) => f !== 'oldestReadyAgeMs').join(' or ')}, which the engine cannot count)` : ''}`
  const inflight = s.inflight ? `, ${s.inflight} of them in flight` : ''
  if (!(await confirmOrForce(`Drop queue ${r.queue} and its ${total} message${total === '1' ? '' : 's'}${inflight}?`, Boolean(r.force)))) throw new UsageError('not confirmed; nothing dropped')
  const removed = await b.drop(r.queue)
  if (!r.json) writeStderr(`mq: ${r.queue}: dropped, with ${removed} message${removed === 1 ? '' : 's'}\n`)
  return {dropped: true, messages: removed, queue: r.queue}
}
