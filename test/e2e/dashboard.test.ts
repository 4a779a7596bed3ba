import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {mqAt} from '../support/chaos.js'
import {BIN, mq, tempSpool, userEnv} from '../support/helpers.js'
import {freshPrefix, IN_CI, redisServerUnavailable, type RedisServer, serverEnv, startRedis, withPrefix} from '../support/servers.js'

// The dashboard (issue 21) in a real browser: Debian's chromium driven by playwright-core.
// Under CI=true the browser is required (.ci/run installs it); elsewhere, without it, these
// tests say why and are skipped.

const CHROMIUM = '/usr/bin/chromium'
const noBrowser = existsSync(CHROMIUM) ? undefined : `no browser at ${CHROMIUM} (apt-get install chromium)`
if (noBrowser && IN_CI) throw new Error(`CI=true: ${noBrowser}`)

type Browser = import('playwright-core').Browser
type Page = import('playwright-core').Page

interface Running {
  url: string
  child: ChildProcess
  stop(): Promise<number | null>
}

/** `mq dashboard` on a free port, with env (MQ_SPOOL or MQ_URL); its URL once it listens. */
async function dashboard(env: NodeJS.ProcessEnv, ...flags: string[]): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--interval', '300ms', ...flags], {env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (c: Buffer) => {
      out += c
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    child.on('close', (code) => reject(new Error(`mq dashboard exited ${code}: ${stderr}`)))
  })
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return {
    child,
    async stop() {
      child.kill('SIGTERM')
      return closed
    },
    url,
  }
}

describe.skipIf(Boolean(noBrowser))('the dashboard in a browser', () => {
  let browser: Browser
  beforeAll(async () => {
    const {chromium} = await import('playwright-core')
    // The browser keeps the real clock (as the test servers do): a suite run under faketime, to
    // see mq hold a year from now, moves mq's clock, not the browser's (whose frames it stalls).
    browser = await chromium.launch({args: ['--no-sandbox'], env: serverEnv() as Record<string, string>, executablePath: CHROMIUM})
  })
  afterAll(async () => {
    await browser?.close()
  })

  async function open(url: string): Promise<{page: Page; errors: string[]}> {
    const page = await browser.newPage({viewport: {height: 900, width: 1280}})
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('dialog', (d) => void d.accept())
    await page.goto(url)
    return {errors, page}
  }

  it('shows the queues with their counts; a hostile body stays text; the chart draws after two samples; an action changes the queue', async () => {
    const spool = tempSpool()
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    await mq(spool, ['push', 'jobs', hostile])
    await mq(spool, ['push', 'jobs', 'second'])
    await mq(spool, ['push', 'poison', 'bad'])
    await mq(spool, ['consume', 'poison', '--max-messages', '1', '--shell', 'echo "no good" >&2; exit 100'])
    const d = await dashboard({MQ_SPOOL: spool})
    try {
      const {errors, page} = await open(d.url)
      await page.waitForSelector('tr[data-queue="jobs"]')
      expect(await page.textContent('tr[data-queue="jobs"] td[data-state="ready"]')).toBe('2')
      expect(await page.textContent('tr[data-queue="poison"] td[data-state="dead"]')).toBe('1')

      await page.click('tr[data-queue="jobs"] button.link')
      await page.waitForSelector('#messages pre.body')
      const bodies = await page.$$eval('#messages pre.body', (els) => els.map((e) => e.textContent))
      expect(bodies[0]).toBe(hostile)
      expect(await page.$$('#messages img, #messages script')).toHaveLength(0)
      expect(await page.evaluate(() => (globalThis as {__pwned?: number}).__pwned)).toBeUndefined()

      // Two samples make a line: the chart has them and a canvas to draw on. (Strings evaluated
      // in the page are refused by its CSP, 'unsafe-eval' not being allowed: checks are selectors.)
      await page.waitForSelector('#chart[data-points]:not([data-points="0"]):not([data-points="1"])')
      expect(await page.$('#chart canvas')).not.toBeNull()
      // Each refresh renders the page again; the chart stays while its history is fetched (held
      // back here for 1.5 s, several refreshes' worth), never an empty #chart in between.
      await page.route('**/api/history*', async (route) => {
        await new Promise((r) => setTimeout(r, 1500))
        await route.continue().catch(() => {})
      })
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 150))
        expect(await page.$('#chart canvas')).not.toBeNull()
      }
      await page.unroute('**/api/history*')

      // Requeue the dead letter from the page: the queue changes, as the CLI sees it.
      await page.click('tr[data-queue="poison"] button.link')
      await page.click('button[data-tab="dead"]')
      await page.waitForSelector('#messages button[data-action="requeue"]')
      expect(await page.textContent('#messages .reason')).toMatch(/rejected after 1/)
      await page.click('#messages button[data-action="requeue"]')
      await page.waitForSelector('tr[data-queue="poison"] td[data-state="dead"]:text-is("0")')
      expect(JSON.parse((await mq(spool, ['stats', 'poison', '--json'])).out)).toMatchObject({dead: 0, ready: 1})

      // Purge asks first (accepted here), then empties the state.
      await page.click('tr[data-queue="jobs"] button.link')
      await page.click('button[data-action="purge"]')
      await page.waitForSelector('tr[data-queue="jobs"] td[data-state="ready"]:text-is("0")')
      expect(JSON.parse((await mq(spool, ['stats', 'jobs', '--json'])).out)).toMatchObject({ready: 0})
      expect(errors).toEqual([])
      await page.close()
    } finally {
      await d.stop()
    }
    // SIGTERM ends it cleanly, open pages or not.
    expect([d.child.exitCode, d.child.signalCode]).toEqual([0, null])
  })

  it('--read-only offers no actions and refuses them; an action without the page token is refused', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'jobs', 'x'])
    const ro = await dashboard({MQ_SPOOL: spool}, '--read-only')
    try {
      const {page} = await open(ro.url)
      await page.waitForSelector('tr[data-queue="jobs"]')
      expect(await page.$('#read-only')).not.toBeNull()
      await page.click('tr[data-queue="jobs"] button.link')
      await page.waitForSelector('#messages')
      expect(await page.$$('button[data-action]')).toHaveLength(0)
      // With the page's own token: refused all the same.
      const status = await page.evaluate(async () => {
        const doc = (globalThis as unknown as {document: {querySelector(s: string): {content: string}}}).document
        const csrf = doc.querySelector('meta[name="mq-csrf"]').content
        const r = await fetch('/api/action', {body: JSON.stringify({action: 'purge', queue: 'jobs', state: 'ready'}), headers: {'Content-Type': 'application/json', 'X-MQ-CSRF': csrf}, method: 'POST'})
        return r.status
      })
      expect(status).toBe(403)
      await page.close()
    } finally {
      await ro.stop()
    }
    const rw = await dashboard({MQ_SPOOL: spool})
    try {
      const noToken = await fetch(`${rw.url}api/action`, {body: JSON.stringify({action: 'pause', queue: 'jobs'}), headers: {'Content-Type': 'application/json'}, method: 'POST'})
      expect(noToken.status).toBe(403)
      // fetch() will not send another Host: a plain request does, as a rebound DNS name would.
      const {request} = await import('node:http')
      const rebound = await new Promise<number>((resolve, reject) => {
        const req = request(`${rw.url}api/queues`, {headers: {Host: 'attacker.example'}}, (res) => (res.resume(), resolve(res.statusCode ?? 0)))
        req.on('error', reject)
        req.end()
      })
      expect(rebound).toBe(421)
      expect(JSON.parse((await mq(spool, ['stats', 'jobs', '--json'])).out)).toMatchObject({paused: false, ready: 1})
    } finally {
      await rw.stop()
    }
  })

  it('beyond loopback only with credentials (78 without); with them, nothing is served without the password', async () => {
    const spool = tempSpool()
    const refused = await mq(spool, ['dashboard', '--host', '0.0.0.0', '--port', '0'])
    expect(refused.code).toBe(78)
    expect(refused.stderr).toMatch(/^mq: refusing to listen on 0\.0\.0\.0 without credentials/)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect((await mq(spool, ['dashboard', '--auth', 'nopassword', '--port', '0'])).code).toBe(78)
    // A port in use: one line and 69, and the process ends (its sampler used to keep it alive).
    const {createServer} = await import('node:net')
    const taken = createServer()
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as {port: number}).port)))
    try {
      const inUse = await mq(spool, ['dashboard', '--port', String(port)], {timeoutMs: 20_000})
      expect(inUse.timedOut).toBe(false)
      expect(inUse.code, inUse.stderr).toBe(69)
      expect(inUse.stderr).toMatch(/is in use/)
    } finally {
      taken.close()
    }
    const d = await dashboard({MQ_DASHBOARD_AUTH: 'ops:s3cret', MQ_SPOOL: spool})
    try {
      expect((await fetch(d.url)).status).toBe(401)
      expect((await fetch(d.url, {headers: {Authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}`}})).status).toBe(401)
      expect((await fetch(d.url, {headers: {Authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}`}})).status).toBe(200)
    } finally {
      await d.stop()
    }
  })

  describe.skipIf(Boolean(redisServerUnavailable()) && !IN_CI)('over Redis', () => {
    let redis: RedisServer
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis?.destroy()
    })

    it('shows a server engine the same way, with its durability warning', async () => {
      const u = withPrefix(redis.url, freshPrefix())
      await mqAt(u, ['push', 'emails', 'hello'])
      const d = await dashboard({MQ_SPOOL: '/nonexistent/mq-spool-unused', MQ_URL: u})
      try {
        const {errors, page} = await open(d.url)
        await page.waitForSelector('tr[data-queue="emails"]')
        expect(await page.textContent('tr[data-queue="emails"] td[data-state="ready"]')).toBe('1')
        expect(await page.textContent('header')).toMatch(/redis/)
        expect(await page.textContent('main')).toMatch(/warning: .*keeps nothing on disk/)
        expect(errors).toEqual([])
        await page.close()
      } finally {
        await d.stop()
      }
    })
  })
})
