import {isUtf8} from 'node:buffer'
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {isIP} from 'node:net'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {type Backend, type MessageInfo, type MessageState, type PurgeState, type QueueStats} from '../backend.js'
import {encodeBody, messageJson} from '../body.js'
import {ConfigError, MqError, NoSuchQueueError, NotSupportedError} from '../errors.js'
import {EXIT} from '../exit-codes.js'
import {rates} from '../cli/actions/admin.js'

/**
 * The web dashboard (`mq dashboard`): one HTTP server over one engine connection, for people.
 *
 * - One sampler asks the engine for stats every `intervalMs` and keeps the samples (an hour and
 *   five minutes of them) in memory; every page reads that: ten open pages cost the queue what
 *   one does. Message lists are fetched when a page shows them, `PAGE_LIMIT` at most.
 * - Safe by default: loopback only unless credentials are given (basic auth, compared in
 *   constant time), a Host header check against DNS rebinding, actions only as POSTs that carry
 *   the page's CSRF token (a cross-site page can neither read it nor send the header without a
 *   preflight, which is never granted), a Content-Security-Policy that allows scripts and
 *   styles from this server alone, and every byte of a message rendered as text by the page.
 * - `readOnly`: the actions are not offered, and refused (403) if asked for anyway.
 */

export interface DashboardOptions {
  host: string
  port: number
  readOnly: boolean
  /** USER:PASSWORD for basic auth; required to listen beyond loopback. */
  auth?: string
  intervalMs: number
}

/** How long samples are kept: an hour, and some. Prometheus (mq stats --prometheus) covers longer. */
export const HISTORY_MS = 65 * 60 * 1000
/** Messages per list a page asks for. */
const PAGE_LIMIT = 100
/** Body bytes a page is sent per message (the rest is cut, and said to be). */
const PREVIEW_BYTES = 4096

const STATES: readonly MessageState[] = ['ready', 'delayed', 'inflight', 'dead', 'done']
const PURGEABLE: readonly PurgeState[] = ['ready', 'delayed', 'dead', 'done']

interface Sample extends QueueStats {
  t: number
  pushRate: number | null
  ackRate: number | null
}

const LOOPBACK = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)

/** Where the page's files are: beside this module (dist/dashboard/public after the build copies them). */
const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

function asset(name: string): Buffer {
  if (name.startsWith('uPlot.')) return readFileSync(join(dirname(require.resolve('uplot/package.json')), 'dist', name))
  return readFileSync(join(here, 'public', name))
}

const ASSETS: Record<string, string> = {
  '/app.css': 'text/css; charset=utf-8',
  '/app.js': 'text/javascript; charset=utf-8',
  '/uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  '/uPlot.min.css': 'text/css; charset=utf-8',
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export class Dashboard {
  private readonly history = new Map<string, Sample[]>()
  private latest: Sample[] = []
  private latestAt = 0
  private warnings: string[] = []
  private warningsAt = 0
  private lastError?: string
  private timer?: NodeJS.Timeout
  private server?: Server
  private readonly csrf = randomBytes(24).toString('hex')
  private readonly authHash?: Buffer
  url = ''

  constructor(
    private readonly backend: Backend,
    private readonly opts: DashboardOptions,
  ) {
    // The dashboard shows every queue: an engine that cannot list them (RabbitMQ) is refused (78).
    if (!backend.capabilities.listing) throw new NotSupportedError(backend.kind, 'the dashboard (it lists every queue, which this engine cannot: use mq stats QUEUE)')
    if (opts.auth !== undefined && !/^[^:]+:.+$/.test(opts.auth)) throw new ConfigError('--auth takes USER:PASSWORD')
    if (!LOOPBACK(opts.host) && opts.auth === undefined)
      throw new ConfigError(`refusing to listen on ${opts.host} without credentials: anyone who can reach it could read and change the queues (give --auth USER:PASSWORD, or MQ_DASHBOARD_AUTH; or listen on 127.0.0.1)`)
    if (opts.auth !== undefined) this.authHash = sha256(opts.auth)
  }

  async start(): Promise<string> {
    await this.sample()
    this.timer = setInterval(() => void this.sample(), this.opts.intervalMs)
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error))
    })
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (e: NodeJS.ErrnoException) => {
        // The sampler's timer would keep the process alive after saying why.
        clearInterval(this.timer)
        reject(e.code === 'EADDRINUSE' ? new MqError('in_use', EXIT.UNAVAILABLE, `${this.opts.host}:${this.opts.port} is in use`, 'give --port') : new ConfigError(`cannot listen on ${this.opts.host}:${this.opts.port}: ${e.message}`))
      })
      this.server!.listen(this.opts.port, this.opts.host, () => resolve())
    })
    const {port} = this.server.address() as {port: number}
    const host = isIP(this.opts.host) === 6 ? `[${this.opts.host}]` : this.opts.host
    this.url = `http://${host}:${port}/`
    return this.url
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.sampling // the engine is closed after this: no look may be left running
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    // Pages keep their connections alive: end them, or close would wait for every browser.
    this.server?.closeAllConnections()
    await closed
  }

  private sampling?: Promise<void>

  /** One look at the engine for every page (one at a time: a slow engine is not asked twice). */
  private sample(): Promise<void> {
    this.sampling ??= this.look().finally(() => (this.sampling = undefined))
    return this.sampling
  }

  private async look(): Promise<void> {
    const t = Date.now()
    try {
      const all = await this.backend.stats()
      const seconds = this.latestAt === 0 ? 0 : (t - this.latestAt) / 1000
      const prev = new Map(this.latest.map((s) => [s.queue, s]))
      this.latest = all.map((s) => ({...s, t, ...rates(prev.get(s.queue), s, seconds)}))
      this.latestAt = t
      // The engine's setup changes rarely: asked once a minute, not at every sample.
      if (t - this.warningsAt >= 60_000) {
        this.warnings = (await this.backend.warnings?.()) ?? []
        this.warningsAt = t
      }
      this.lastError = undefined
      for (const s of this.latest) {
        const h = this.history.get(s.queue) ?? []
        h.push(s)
        while (h.length > 0 && t - h[0].t > HISTORY_MS) h.shift()
        this.history.set(s.queue, h)
      }
      for (const q of this.history.keys()) if (!this.latest.some((s) => s.queue === q)) this.history.delete(q)
    } catch (error) {
      this.lastError = (error as Error).message
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Content-Security-Policy', CSP)
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('X-Frame-Options', 'DENY')
    res.setHeader('Referrer-Policy', 'no-referrer')
    res.setHeader('Cache-Control', 'no-store')
    // DNS rebinding: a page of another name that resolves here must not read the queues.
    if (!this.hostAllowed(req.headers.host)) return this.send(res, 421, 'text/plain; charset=utf-8', 'unknown Host\n')
    if (this.authHash && !this.authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="mq", charset="UTF-8"')
      return this.send(res, 401, 'text/plain; charset=utf-8', 'credentials needed\n')
    }
    const url = new URL(req.url ?? '/', 'http://dashboard')
    if (req.method === 'GET' && url.pathname === '/') return this.send(res, 200, 'text/html; charset=utf-8', this.page())
    if (req.method === 'GET' && ASSETS[url.pathname]) {
      res.setHeader('Cache-Control', 'max-age=300')
      return this.send(res, 200, ASSETS[url.pathname], asset(url.pathname.slice(1)))
    }
    if (req.method === 'GET' && url.pathname === '/api/queues') return this.json(res, 200, this.overview())
    if (req.method === 'GET' && url.pathname === '/api/history') return this.json(res, 200, this.history.get(url.searchParams.get('queue') ?? '') ?? [])
    if (req.method === 'GET' && url.pathname === '/api/messages') return this.json(res, 200, await this.messages(url.searchParams))
    if (req.method === 'GET' && url.pathname === '/api/message') {
      const m = await this.backend.show(url.searchParams.get('queue') ?? '', url.searchParams.get('id') ?? '', {body: true})
      return m ? this.json(res, 200, preview(m)) : this.json(res, 404, {error: 'no such message'})
    }
    if (url.pathname === '/api/action') {
      if (req.method !== 'POST') return this.json(res, 405, {error: 'POST only'})
      return this.action(req, res)
    }
    return this.send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
  }

  private hostAllowed(host: string | undefined): boolean {
    if (!host) return false
    const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
    if (this.authHash) return true // with credentials, any name that reaches us is fine
    return LOOPBACK(name) || name === this.opts.host
  }

  private authorized(header: string | undefined): boolean {
    const m = /^Basic\s+(\S+)$/i.exec(header ?? '')
    if (!m) return false
    // Both sides hashed to one length, so the comparison takes the same time whatever was sent.
    return timingSafeEqual(sha256(Buffer.from(m[1], 'base64').toString('utf8')), this.authHash!)
  }

  private overview() {
    return {
      engine: this.backend.kind,
      error: this.lastError ?? null,
      intervalMs: this.opts.intervalMs,
      keepsDone: this.backend.capabilities.keepsDone,
      queues: this.latest,
      readOnly: this.opts.readOnly,
      sampledAt: this.latestAt,
      warnings: this.warnings,
    }
  }

  private async messages(p: URLSearchParams) {
    const state = p.get('state') as MessageState
    if (!STATES.includes(state)) throw new MqError('usage', EXIT.USAGE, `state must be one of ${STATES.join(', ')}`)
    if (state === 'done' && !this.backend.capabilities.keepsDone) return {messages: [], note: `${this.backend.kind} does not keep acked messages`}
    const list = await this.backend.peek(p.get('queue') ?? '', {bodies: true, limit: PAGE_LIMIT, state})
    return {limit: PAGE_LIMIT, messages: list.map(preview)}
  }

  /**
   * POST /api/action, a JSON object {action, queue, id?, state?}, with the page's token in
   * X-MQ-CSRF. The page asks people before purge and drop; this checks nothing of that.
   */
  private async action(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.opts.readOnly) return this.json(res, 403, {error: 'the dashboard is read-only (--read-only)'})
    const token = req.headers['x-mq-csrf']
    if (typeof token !== 'string' || !safeEqual(token, this.csrf)) return this.json(res, 403, {error: 'missing or wrong CSRF token'})
    // A browser names the page that sent a POST: it must be one of ours.
    const origin = req.headers.origin
    if (origin !== undefined && originHost(origin) !== req.headers.host) return this.json(res, 403, {error: 'cross-site request'})
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return this.json(res, 415, {error: 'JSON only'})
    const body = JSON.parse(await readBody(req, 64 * 1024)) as {action?: string; id?: string; queue?: string; state?: string}
    const queue = String(body.queue ?? '')
    const b = this.backend
    let result: unknown
    switch (body.action) {
      case 'requeue':
        result = await b.requeue(queue, [String(body.id)])
        break
      case 'requeue-all':
        result = await b.requeue(queue)
        break
      case 'cancel':
        result = await b.cancel(queue, [String(body.id)])
        break
      case 'purge': {
        const state = body.state as PurgeState
        if (!PURGEABLE.includes(state)) return this.json(res, 400, {error: `purge takes one of ${PURGEABLE.join(', ')}`})
        result = await b.purge(queue, [state])
        break
      }
      case 'pause':
        await b.pause(queue)
        result = {paused: true}
        break
      case 'resume':
        result = {wasPaused: await b.resume(queue)}
        break
      case 'drop':
        result = {messages: await b.drop(queue)}
        break
      default:
        return this.json(res, 400, {error: `unknown action ${JSON.stringify(body.action)}`})
    }
    await this.sample() // the page sees the effect at once
    return this.json(res, 200, {ok: true, result})
  }

  private page(): string {
    // No inline script (the CSP forbids it): the token travels in a meta element.
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="mq-csrf" content="${this.csrf}">
<title>mq dashboard</title>
<link rel="stylesheet" href="/uPlot.min.css"><link rel="stylesheet" href="/app.css">
<script src="/uPlot.iife.min.js" defer></script><script src="/app.js" defer></script>
</head><body><div id="app"><p>Loading…</p></div></body></html>
`
  }

  private fail(res: ServerResponse, error: unknown): void {
    if (res.headersSent) return void res.end()
    if (error instanceof NoSuchQueueError) return this.json(res, 404, {error: error.message})
    if (error instanceof SyntaxError) return this.json(res, 400, {error: 'not JSON'})
    if (error instanceof MqError) return this.json(res, error.exitCode === 64 || error.exitCode === 65 ? 400 : error.exitCode === 78 ? 409 : 500, {error: error.message})
    return this.json(res, 500, {error: (error as Error).message})
  }

  private json(res: ServerResponse, status: number, value: unknown): void {
    this.send(res, status, 'application/json; charset=utf-8', JSON.stringify(value))
  }

  private send(res: ServerResponse, status: number, type: string, body: Buffer | string): void {
    res.writeHead(status, {'Content-Type': type})
    res.end(body)
  }
}

function originHost(origin: string): string {
  try {
    return new URL(origin).host
  } catch {
    return ''
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b))
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) {
        reject(new MqError('usage', EXIT.USAGE, 'request too large'))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** A message for a page: as show --json gives it, the body cut to PREVIEW_BYTES (text, or base64 when not UTF-8). */
function preview(m: MessageInfo): Record<string, unknown> {
  const {body, ...rest} = m
  if (!body) return messageJson(rest)
  let shown = body.subarray(0, PREVIEW_BYTES)
  // A cut can split a UTF-8 character: back off to the last whole one (at most 3 bytes), so
  // that a text body stays text (encodeBody gives base64 for what is not UTF-8).
  if (shown.length < body.length) for (let back = 1; back <= 3 && !isUtf8(shown); back++) if (isUtf8(body.subarray(0, PREVIEW_BYTES - back))) shown = body.subarray(0, PREVIEW_BYTES - back)
  return {...messageJson(rest), ...encodeBody(shown), truncated: shown.length < body.length}
}
