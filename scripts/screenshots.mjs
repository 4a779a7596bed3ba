#!/usr/bin/env node
// The README's screenshots of `mq dashboard` (docs/dashboard-spool.png, docs/dashboard-redis.png):
// a few queues with some traffic, on a temporary spool and on a private redis-server, taken in
// Debian's chromium with playwright-core. Run after `npm run build`: node scripts/screenshots.mjs
import {execFileSync, spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(root, 'bin', 'run.cjs')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function mq(env, args, input) {
  return execFileSync(process.execPath, [BIN, ...args], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1', ...env}, input: input ?? ''}).trim()
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => resolve(port))
    })
  })

async function scene(env, file) {
  mq(env, ['push', 'emails', '--batch'], Array.from({length: 40}, (_, i) => JSON.stringify({to: `user${i}@example.com`, template: 'welcome'})).join('\n'))
  mq(env, ['push', 'reports', 'weekly', '--delay', '1h'])
  mq(env, ['push', 'thumbnails', '--batch'], 'a.jpg\nb.jpg\nc.jpg\n')
  mq(env, ['push', 'thumbnails', 'corrupt.jpg'])
  try {
    mq(env, ['consume', 'thumbnails', '--drain', '--shell', 'grep -q corrupt && { echo "convert: improper image header" >&2; exit 100; }; exit 0'])
  } catch (error) {
    if (error.status !== 65) throw error // 65: it dead-lettered one, as meant
  }
  const dash = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--interval', '500ms'], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'inherit']})
  const url = await new Promise((resolve) => dash.stdout.once('data', (c) => resolve(String(c).split('\n')[0])))
  // Traffic while it samples: pushes and acks at a few per second.
  for (let i = 0; i < 16; i++) {
    mq(env, ['push', 'emails', '--batch'], Array.from({length: 3 + (i % 4)}, (_, j) => JSON.stringify({to: `late${i}-${j}@example.com`})).join('\n'))
    mq(env, ['consume', 'emails', '--max-messages', String(2 + (i % 3)), '--shell', 'cat > /dev/null'])
    await sleep(400)
  }
  const {chromium} = await import('playwright-core')
  const browser = await chromium.launch({args: ['--no-sandbox'], executablePath: '/usr/bin/chromium'})
  try {
    const page = await browser.newPage({viewport: {height: 860, width: 1280}})
    await page.goto(`${url}#q=emails`)
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points ?? 0) >= 10)
    await page.click('tr[data-queue="thumbnails"] button.link')
    await page.click('button[data-tab="dead"]')
    await page.waitForSelector('#messages .reason')
    await page.click('tr[data-queue="emails"] button.link')
    await page.waitForSelector('#messages pre.body')
    await sleep(600)
    await page.screenshot({path: file})
    console.error(`wrote ${file}`)
  } finally {
    await browser.close()
    dash.kill('SIGTERM')
  }
}

mkdirSync(join(root, 'docs'), {recursive: true})
const spool = mkdtempSync(join(tmpdir(), 'mq-shot-'))
try {
  await scene({MQ_SPOOL: spool}, join(root, 'docs', 'dashboard-spool.png'))
} finally {
  rmSync(spool, {force: true, recursive: true})
}
const port = await freePort()
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', mkdtempSync(join(tmpdir(), 'mq-shot-redis-'))], {stdio: 'ignore'})
try {
  await sleep(500)
  await scene({MQ_SPOOL: '/nonexistent', MQ_URL: `redis://127.0.0.1:${port}/0`}, join(root, 'docs', 'dashboard-redis.png'))
} finally {
  redis.kill('SIGKILL')
}
