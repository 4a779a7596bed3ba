import {type Backend, type MessageState, type PurgeState, type QueueConfigPatch, type QueueStats} from '../../backend.js'
import {messageJson} from '../../body.js'
import {confirmOrForce} from '../../confirm.js'
import {formatAge, formatDuration} from '../../duration.js'
import {NoInputError, UsageError} from '../../errors.js'
import {palette, startSpinner} from '../../output.js'
import {reportError} from '../report-error.js'
import {writeFileAtomically} from '../../atomic-file.js'
import {untilInterrupted, writeStderr, writeStdoutSync} from '../../stdio.js'

/** Rows as aligned columns (the width without colour codes). */
function table(rows: string[][]): string {
  const plain = (s: string) => s.replaceAll(/\u001B\[[0-9;]*m/g, '')
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => plain(r[i] ?? '').length)))
  return rows.map((r) => r.map((cell, i) => cell + ' '.repeat(widths[i] - plain(cell).length)).join('  ').trimEnd()).join('\n') + '\n'
}

/** peek --all: a limit every engine takes as a whole number (a Lua script's too). */
const PEEK_ALL = 2_147_483_647

export async function peekAction(b: Backend, r: {queue: string; state: MessageState; count: number; all?: boolean; base64?: boolean; json?: boolean}): Promise<unknown> {
  const infos = await b.peek(r.queue, {bodies: true, limit: r.all ? PEEK_ALL : r.count, state: r.state})
  if (r.json) return infos.map((m) => messageJson(m, r.base64))
  const c = await palette()
  const now = Date.now()
  let out = ''
  for (const m of infos) {
    const preview = m.body ? JSON.stringify(m.body.subarray(0, 60).toString('utf8')) : ''
    const extra =
      m.state === 'dead' && m.reason
        ? ` ${c.red(m.reason.reason)}${m.reason.lastError ? ` (${m.reason.lastError})` : ''}`
        : m.notBefore
          ? ` due in ${formatAge(Math.max(0, m.notBefore - now))}`
          : m.leaseUntil
            ? ` lease ${m.leaseUntil > now ? `ends in ${formatAge(m.leaseUntil - now)}` : c.yellow('expired')}`
            : ''
    out += `${m.id}  a=${m.attempt} p=${m.priority} age=${formatAge(now - m.enqueuedAt)} ${m.size}B${extra}  ${c.dim(preview)}\n`
  }
  writeStdoutSync(out)
  return undefined
}

type Stats = QueueStats & {bad?: number}

/** Stats with the engine's own findings beside them (the spool's quarantined files: "bad"). */
async function statsWithDiagnostics(b: Backend, queue?: string): Promise<Stats[]> {
  const all: Stats[] = await b.stats(queue)
  if (b.diagnostics) for (const s of all) s.bad = await b.diagnostics.quarantined(s.queue)
  return all
}

export async function statsAction(b: Backend, r: {queue?: string; prometheus?: boolean; textfile?: string; json?: boolean; watch?: boolean | number}): Promise<unknown> {
  if (r.textfile && !r.prometheus) throw new UsageError('--textfile writes the --prometheus format: give both')
  if (r.watch !== undefined && r.watch !== false) {
    // "--watch 5s" reads 5s as the queue: say how an interval is given, rather than "no such queue".
    if (r.queue !== undefined && /^\d+(\.\d+)?(ms|s|m|h)?$/.test(r.queue) && !(await b.exists(r.queue)))
      throw new UsageError(`--watch ${r.queue}: an interval goes after "=": --watch=${r.queue}`)
    return watchStats(b, {...r, interval: r.watch === true ? 2000 : r.watch})
  }
  const all = await statsWithDiagnostics(b, r.queue)
  // What the engine's setup weakens (a Redis server that keeps nothing on disk...): for people,
  // a line on stderr beside the table; for machines, in the data (a field of each queue's
  // JSON, a metric), never on the stderr of a run that succeeded (cron would mail it).
  const warnings = (await b.warnings?.()) ?? []
  if (r.prometheus) {
    const text = toPrometheus(all, warnings)
    // A temp file beside it, fsynced, renamed over it: node_exporter never reads half of one.
    // World-readable (less the umask): the collector runs as a user of its own.
    if (r.textfile) writeFileAtomically(r.textfile, text, 0o644)
    else writeStdoutSync(text)
    return undefined
  }
  if (r.json) {
    const rows = warnings.length > 0 ? all.map((s) => ({...s, warnings})) : all
    return r.queue ? rows[0] : rows
  }
  for (const line of warnings) writeStderr(`mq: warning: ${line}\n`)
  const c = await palette()
  const rows = [[...COUNT_HEADINGS, 'BAD', 'OLDEST']]
  for (const s of all) rows.push([...countCells(s, c), s.bad ? c.yellow(String(s.bad)) : s.bad === undefined ? '-' : '0', oldestCell(s)])
  writeStdoutSync(table(rows))
  return undefined
}

/** The stats table's columns that stats and stats --watch share: the queue and its counts. */
const COUNT_HEADINGS = ['QUEUE', 'READY', 'INFLIGHT', 'DELAYED', 'DONE', 'DEAD']

function countCells(s: QueueStats, c: Awaited<ReturnType<typeof palette>>): string[] {
  return [s.queue + (s.paused ? ' (paused)' : ''), String(s.ready), countCell(s.inflight), countCell(s.delayed), countCell(s.done), s.dead ? c.red(String(s.dead)) : '0']
}

/** A count, or "?" where the engine cannot tell (RabbitMQ's in-flight and delayed messages): never a 0 that is not known. */
export const countCell = (n: number | null) => (n === null ? '?' : String(n))

const oldestCell = (s: QueueStats) => (s.unknown?.includes('oldestReadyAgeMs') ? '?' : s.oldestReadyAgeMs === null ? '-' : formatAge(s.oldestReadyAgeMs))

/** Per-second rates between two samples of one queue, from its counts (null for the first sample). */
interface Rates {
  pushRate: number | null
  ackRate: number | null
}

/**
 * Push and ack rates from two samples of the counts: acks are done's growth; pushes the growth
 * of every message the queue holds (ready + in flight + delayed + dead + done: an ack moves a
 * message between them, a push adds one). gc and purge shrink the counts: a negative change
 * counts as none. On engines that do not keep done messages (Redis), done is a count of acks.
 */
export function rates(prev: QueueStats | undefined, cur: QueueStats, seconds: number): Rates {
  if (!prev || seconds <= 0) return {ackRate: null, pushRate: null}
  // An engine that cannot count some states (RabbitMQ) has no rates: unknown, not 0.
  if (cur.unknown?.length) return {ackRate: null, pushRate: null}
  const total = (s: QueueStats) => s.ready + (s.inflight ?? 0) + (s.delayed ?? 0) + s.dead + (s.done ?? 0)
  return {ackRate: Math.max(0, (cur.done ?? 0) - (prev.done ?? 0)) / seconds, pushRate: Math.max(0, total(cur) - total(prev)) / seconds}
}

/**
 * stats --watch: the stats again every interval until SIGINT or SIGTERM (then exit 0), with
 * push and ack rates per queue. On a terminal the table is redrawn in place; otherwise each
 * refresh is a block of lines (a timestamp, the table, an empty line), or with --json one JSON
 * object per line (NDJSON), for a log or a pipe. One engine connection serves every refresh.
 */
async function watchStats(b: Backend, r: {queue?: string; json?: boolean; interval: number}): Promise<unknown> {
  const tty = Boolean(process.stdout.isTTY) && !r.json
  const c = await palette()
  const {dispose, interrupted} = untilInterrupted()
  let prev = new Map<string, QueueStats>()
  let prevAt = 0
  let drawn = 0
  const fmt = (n: number | null) => (n === null ? '-' : n >= 100 ? n.toFixed(0) : n.toFixed(1))
  try {
    for (;;) {
      const at = performance.now()
      const all = await b.stats(r.queue)
      const seconds = prevAt === 0 ? 0 : (at - prevAt) / 1000
      const rows = all.map((s) => ({...s, ...rates(prev.get(s.queue), s, seconds)}))
      prev = new Map(all.map((s) => [s.queue, s]))
      prevAt = at
      if (r.json) writeStdoutSync(JSON.stringify({at: new Date().toISOString(), queues: rows}) + '\n')
      else {
        const t = [[...COUNT_HEADINGS, 'PUSH/S', 'ACK/S', 'OLDEST']]
        for (const s of rows) t.push([...countCells(s, c), fmt(s.pushRate), fmt(s.ackRate), oldestCell(s)])
        const text = `${new Date().toISOString()}  every ${formatDuration(r.interval)}${tty ? ' (Ctrl-C to stop)' : ''}\n${table(t)}`
        // In place: back to where the last drawing began, and clear to the end of the screen.
        writeStdoutSync(tty ? `${drawn > 0 ? `\u001B[${drawn}A\r\u001B[J` : ''}${text}` : `${text}\n`)
        drawn = text.split('\n').length - 1
      }
      const timer = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, r.interval - (performance.now() - at))))
      if ((await Promise.race([timer.then(() => 'tick'), interrupted.then(() => 'stop')])) === 'stop') return undefined
    }
  } finally {
    dispose()
  }
}

/** Prometheus text format: one gauge family per figure, labelled by queue (and state). */
export function toPrometheus(all: Stats[], warnings: string[] = []): string {
  const lines = ['# HELP mq_messages Messages in a queue, by state.', '# TYPE mq_messages gauge']
  for (const s of all)
    for (const state of ['ready', 'inflight', 'delayed', 'done', 'dead', 'bad'] as const)
      // A count the engine cannot know (RabbitMQ's in flight, delayed, done) has no sample: absent, not 0.
      if (s[state] !== undefined && s[state] !== null) lines.push(`mq_messages{queue="${s.queue}",state="${state}"} ${s[state]}`)
  lines.push('# HELP mq_oldest_ready_age_seconds Age of the oldest ready message (0 when none is ready).', '# TYPE mq_oldest_ready_age_seconds gauge')
  for (const s of all) if (!s.unknown?.includes('oldestReadyAgeMs')) lines.push(`mq_oldest_ready_age_seconds{queue="${s.queue}"} ${(s.oldestReadyAgeMs ?? 0) / 1000}`)
  lines.push('# HELP mq_paused 1 when the queue is paused.', '# TYPE mq_paused gauge')
  for (const s of all) lines.push(`mq_paused{queue="${s.queue}"} ${s.paused ? 1 : 0}`)
  // The engine's durability warnings (as `mq stats` prints them for people): alert on count > 0.
  const label = (text: string) => text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
  lines.push('# HELP mq_engine_warnings Promises the engine\'s setup weakens (see mq_engine_warning).', '# TYPE mq_engine_warnings gauge', `mq_engine_warnings ${warnings.length}`)
  if (warnings.length > 0) lines.push('# HELP mq_engine_warning 1 for each durability warning about the engine, in words.', '# TYPE mq_engine_warning gauge')
  for (const w of warnings) lines.push(`mq_engine_warning{warning="${label(w)}"} 1`)
  return lines.join('\n') + '\n'
}

async function topicsWithSubscribers(b: Backend): Promise<Array<{subscribers: string[]; topic: string}>> {
  return Promise.all((await b.topics()).map(async (t) => ({subscribers: (await b.subscribers(t)) ?? [], topic: t})))
}

/** Queues and topics, one line each: what a name is, and what is in it or who hears it. */
export async function queuesAction(b: Backend, r: {json?: boolean}): Promise<unknown> {
  const [all, subs] = await Promise.all([b.stats(), topicsWithSubscribers(b)])
  if (r.json) return [...all.map((s) => ({inflight: s.inflight, kind: 'queue', paused: s.paused, queue: s.queue, ready: s.ready})), ...subs.map((t) => ({kind: 'topic', ...t}))]
  const rows = [['NAME', 'KIND', 'READY', 'INFLIGHT', 'NOTE']]
  for (const s of all) rows.push([s.queue, 'queue', String(s.ready), String(s.inflight), s.paused ? 'paused' : ''])
  for (const t of subs) rows.push([t.topic, 'topic', '-', '-', t.subscribers.length ? `-> ${t.subscribers.join(', ')}` : 'no subscribers'])
  writeStdoutSync(table(rows))
  return undefined
}

export async function topicsAction(b: Backend, r: {json?: boolean}): Promise<unknown> {
  const subs = await topicsWithSubscribers(b)
  if (r.json) return subs
  const rows = [['TOPIC', 'SUBSCRIBERS']]
  for (const t of subs) rows.push([t.topic, t.subscribers.length ? t.subscribers.join(' ') : '(none: pushes are refused)'])
  writeStdoutSync(table(rows))
  return undefined
}

export async function configAction(b: Backend, r: {queue: string; maxDepth?: number; noMaxDepth?: boolean; maxAttempts?: number; lease?: number; json?: boolean}): Promise<unknown> {
  const patch: QueueConfigPatch = {}
  if (r.maxDepth !== undefined) patch.maxDepth = r.maxDepth
  if (r.noMaxDepth) patch.maxDepth = null
  if (r.maxAttempts !== undefined) patch.maxAttempts = r.maxAttempts
  if (r.lease !== undefined) patch.leaseMs = r.lease
  const config = Object.keys(patch).length > 0 ? await b.setConfig(r.queue, patch) : await b.getConfig(r.queue)
  if (!r.json) writeStdoutSync(`max-depth ${config.maxDepth ?? 'none'}\nmax-attempts ${config.maxAttempts}\nlease ${formatDuration(config.leaseMs)}\n`)
  return {leaseMs: config.leaseMs, maxAttempts: config.maxAttempts, maxDepth: config.maxDepth ?? null, queue: r.queue}
}

export async function subscribeAction(b: Backend, r: {topic: string; queue: string}): Promise<unknown> {
  if (r.topic === r.queue) throw new UsageError(`${r.topic}: a topic cannot subscribe to itself`)
  if ((await b.subscribers(r.queue)) !== undefined) throw new UsageError(`${r.queue} is a topic: only a queue can subscribe (topics do not chain)`)
  const created = await b.subscribe(r.topic, r.queue)
  return {queue: r.queue, subscribed: true, topic: r.topic, was: created ? 'new' : 'already'}
}

export async function purgeAction(b: Backend, r: {queue: string; state: Array<PurgeState | 'all'>; force?: boolean; json?: boolean}): Promise<unknown> {
  const states: PurgeState[] = r.state.includes('all') ? ['ready', 'delayed', 'dead', 'done'] : [...new Set(r.state as PurgeState[])]
  const [s] = await b.stats(r.queue)
  const total = states.reduce((n, st) => n + (s[st] ?? 0), 0)
  const what = states.map((st) => `${countCell(s[st])} ${st}`).join(', ')
  if (!(await confirmOrForce(`Delete ${total} message${total === 1 ? '' : 's'} (${what}) of ${r.queue}?`, Boolean(r.force)))) throw new UsageError('not confirmed; nothing deleted')
  const spinner = r.json ? undefined : await startSpinner(`purging ${r.queue}: 0 of ${total} deleted`)
  try {
    const counts = await b.purge(r.queue, states, (n) => spinner?.update(`purging ${r.queue}: ${n} of ${total} deleted`))
    spinner?.stop()
    if (!r.json) writeStderr(`mq: ${r.queue}: purged ${states.map((st) => `${counts[st]} ${st}`).join(', ')}\n`)
    return {purged: counts, queue: r.queue}
  } finally {
    spinner?.stop()
  }
}

/**
 * requeue: dead letters back to ready. Ids that are not dead letters of the queue are reported
 * (66) after the others are moved. A message whose expiry has passed comes back without it
 * (it would only die again at once): the engines clear it.
 */
export async function requeueAction(b: Backend, r: {queue: string; id?: string[]; json?: boolean}): Promise<unknown> {
  const ids = r.id ?? []
  const {expiryCleared, requeued} = await b.requeue(r.queue, ids.length > 0 ? ids : undefined)
  const notDead = ids.filter((id) => !requeued.includes(id))
  if (!r.json && requeued.length > 0) writeStdoutSync(requeued.join('\n') + '\n')
  if (!r.json && expiryCleared.length > 0)
    writeStderr(`mq: ${r.queue}: ${expiryCleared.length} of them had expired (push --ttl): requeued without an expiry\n`)
  if (notDead.length > 0) {
    const error = new NoInputError(`${r.queue}: not a dead letter of this queue: ${notDead.join(', ')}`, 'mq peek QUEUE --state dead lists them')
    if (!r.json) throw error
    reportError(error, true) // and the result below on stdout
  }
  return {expiryCleared, notDead, queue: r.queue, requeued}
}

export async function gcAction(b: Backend, r: {queue?: string; doneOlderThan: number; tmpOlderThan: number; force?: boolean; json?: boolean}): Promise<unknown> {
  const all = await b.stats(r.queue)
  const done = all.reduce((n, s) => n + (s.done ?? 0), 0)
  const what = `Remove acked messages kept over ${formatDuration(r.doneOlderThan)} (of ${done} kept) and partial writes older than ${formatDuration(r.tmpOlderThan)} in ${r.queue ?? `${all.length} queue${all.length === 1 ? '' : 's'}`}?`
  if (!(await confirmOrForce(what, Boolean(r.force)))) throw new UsageError('not confirmed; nothing removed')
  const spinner = r.json ? undefined : await startSpinner('gc')
  const opts = {doneOlderThanMs: r.doneOlderThan, tmpOlderThanMs: r.tmpOlderThan}
  const results = []
  try {
    for (const {queue} of all) {
      const g = await b.gc(queue, opts, (n) => spinner?.update(`gc ${queue}: ${n} removed`))
      const removed = {done: g.done, keys: g.keys, tmp: g.tmp ?? 0}
      results.push({queue, removed})
      spinner?.clear()
      if (!r.json) writeStderr(`mq: ${queue}: removed ${removed.done} done, ${removed.tmp} tmp, ${removed.keys} keys\n`)
    }
    // Partial writes outside queues (a topic's fan-out pushes whose producer died).
    if (!r.queue && b.diagnostics) {
      const n = await b.diagnostics.sweepAbandoned(opts.tmpOlderThanMs)
      if (!r.json && n > 0) writeStderr(`mq: topics: removed ${n} tmp\n`)
    }
  } finally {
    spinner?.stop()
  }
  return r.queue ? results[0] : results
}
