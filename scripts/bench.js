#!/usr/bin/env node
// mq's benchmark: every figure beside its floor, measured in the same run on the same disk.
//
//   npm run bench              full run (1M-message backlog; ~3-4 minutes on a 2-core VM)
//   npm run bench -- --quick   smoke run (100k backlog, fewer repeats; ~40 s)
//   npm run bench -- --only spool|redis|postgres|rabbitmq   one engine's rows
//   (postgres: against MQ_BENCH_POSTGRES_URL or MQ_TEST_POSTGRES_URL, in a schema of its own)
//
// Floors: `node -e 0` for start-up; plain Node loops doing the same filesystem work (durable
// create+fsync+rename; rename-claim+rename-ack) for throughput. Reports medians over several
// runs with the interquartile range as spread. Needs `npm install` (which builds dist/).
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'bin', 'run.cjs')
const quick = process.argv.includes('--quick')
const {SpoolBackend} = await import(join(ROOT, 'dist', 'backends', 'spool', 'index.js'))
const {Queue} = await import(join(ROOT, 'dist', 'queue.js'))
const {bucketsOf, timeHex} = await import(join(ROOT, 'dist', 'message-id.js'))

const cfg = quick
  ? {backlog: 100_000, batch: 2000, claims: 2000, coldRuns: 11, consume: 300, popRuns: 7, repeats: 3}
  : {backlog: 1_000_000, batch: 10_000, claims: 10_000, coldRuns: 31, consume: 1000, popRuns: 15, repeats: 5}
const work = mkdtempSync(join(process.env.MQ_BENCH_DIR ?? tmpdir(), 'mq-bench-'))
const started = Date.now()
const rows = []
const env = {...process.env, NO_COLOR: '1'}
delete env.MQ_URL

// ---------- helpers ----------
const sorted = (a) => [...a].sort((x, y) => x - y)
const q = (a, p) => sorted(a)[Math.min(a.length - 1, Math.floor(p * (a.length - 1) + 0.5))]
const med = (a) => q(a, 0.5)
const spread = (a) => `${fmt(q(a, 0.25))}-${fmt(q(a, 0.75))}`
function fmt(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)
}
function say(s) {
  process.stderr.write(s + '\n')
}

/** Wall time (ms) of one process; throws on failure. */
function timed(cmd, args, opts = {}) {
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {env: {...env, ...opts.env}, input: opts.input, maxBuffer: 1 << 30, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']})
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0 && !(opts.ok ?? [0]).includes(r.status)) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`)
  return {ms, out: r.stdout}
}

/** Peak RSS (KiB) of `node bin/run.cjs ARGS`, read by a preloaded hook at exit (no external tool). */
function peakRss(args, spool) {
  const hook = join(work, 'rss-hook.cjs')
  // VmHWM: this address space's peak (exec starts a new one; ru_maxrss would carry the parent's across fork and exec).
  writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(process.env.MQ_BENCH_RSS, /VmHWM:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]))`)
  const out = join(work, 'rss.txt')
  timed(process.execPath, ['--require', hook, BIN, ...args], {env: {MQ_BENCH_RSS: out, MQ_SPOOL: spool}, ok: [0, 3]})
  return Number(spawnSync('cat', [out]).stdout.toString())
}

function row(name, mq, floor, unit, higherIsBetter, note = '') {
  const ratio = higherIsBetter ? med(mq) / med(floor) : med(mq) / med(floor)
  rows.push({floor: `${fmt(med(floor))} (${spread(floor)})`, mq: `${fmt(med(mq))} (${spread(mq)})`, name, note, ratio: `${ratio.toFixed(2)}x`, unit})
}

// `--only redis`: the server engines' rows alone (scripts/bench-servers.js).
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
if (only === undefined || only === 'spool') {
// ---------- 1. cold start ----------
say(`1/7 cold start: ${cfg.coldRuns} runs each of node -e 0 and mq push (fsynced)`)
{
  const spool = join(work, 'cold')
  const node = []
  const push = []
  for (let i = 0; i < cfg.coldRuns; i++) {
    node.push(timed(process.execPath, ['-e', '0']).ms)
    push.push(timed(process.execPath, [BIN, 'push', 'cold', 'hello'], {env: {MQ_SPOOL: spool}}).ms)
  }
  row('cold `mq push` vs `node -e 0`', push, node, 'ms', false, 'budget <= 1.25x')
  const pop = []
  for (let i = 0; i < cfg.coldRuns; i++) pop.push(timed(process.execPath, [BIN, 'pop', 'cold'], {env: {MQ_SPOOL: spool}}).ms)
  row('cold `mq pop` vs `node -e 0`', pop, node, 'ms', false)
}

// ---------- 2. batch push ----------
say(`2/7 batch push: ${cfg.batch} messages, ${cfg.repeats} runs each of mq push --batch and a plain durable Node loop`)
{
  const input = Array.from({length: cfg.batch}, (_, i) => `message number ${i} with a little payload`).join('\n')
  // The floor: what a careful program does per message, in a process of its own (start-up included on both sides).
  const floorScript = `
    const fs = require('fs'), path = require('path'); const dir = process.argv[1]; const n = +process.argv[2]
    fs.mkdirSync(dir + '/tmp', {recursive: true}); fs.mkdirSync(dir + '/new', {recursive: true})
    for (let i = 0; i < n; i++) {
      const name = 'm' + i, tmp = dir + '/tmp/' + name
      const fd = fs.openSync(tmp, 'wx'); fs.writeSync(fd, 'message number ' + i + ' with a little payload'); fs.fsyncSync(fd); fs.closeSync(fd)
      fs.renameSync(tmp, dir + '/new/' + name)
    }
    const d = fs.openSync(dir + '/new', 'r'); fs.fsyncSync(d); fs.closeSync(d)`
  const mq = []
  const floor = []
  for (let r = 0; r < cfg.repeats; r++) {
    const s = join(work, `batch-${r}`)
    floor.push((cfg.batch / timed(process.execPath, ['-e', floorScript, join(work, `floor-${r}`), String(cfg.batch)]).ms) * 1000)
    mq.push((cfg.batch / timed(process.execPath, [BIN, 'push', 'b', '--batch'], {env: {MQ_SPOOL: s}, input}).ms) * 1000)
    rmSync(s, {force: true, recursive: true})
    rmSync(join(work, `floor-${r}`), {force: true, recursive: true})
  }
  row(`\`mq push --batch\` (${cfg.batch}) vs durable Node loop`, mq, floor, 'msg/s', true, 'budget >= 0.8x')
}

// ---------- 3. claims in one process ----------
say(`3/7 claim + ack in one process: ${cfg.claims} messages through the library, and bare renames of the same files`)
/** A spool with `ready` messages, and `inflight` more claimed under long leases by another client. */
async function prepared(name, ready, inflight = 0) {
  const spool = join(work, name)
  const b = new Queue(new SpoolBackend(spool))
  const body = Buffer.from('x'.repeat(40))
  for (let i = 0; i < ready + inflight; i += 1000) await b.push('c', Array.from({length: Math.min(1000, ready + inflight - i)}, () => ({body})))
  for (let i = 0; i < inflight; i++) await b.claim('c', {leaseMs: 3_600_000})
  spawnSync('sync', ['-f', spool]) // both sides start on settled files, not under writeback
  return spool
}
/** Claims and acks `n` messages with a fresh client; msg/s. */
async function claimAck(spool, n) {
  const b = new Queue(new SpoolBackend(spool))
  const t = performance.now()
  for (let i = 0; i < n; i++) {
    const d = await b.claim('c', {leaseMs: 60_000})
    await b.ack('c', d.receipt)
  }
  return (n / (performance.now() - t)) * 1000
}
/** The floor: the same two renames per message on the same kind of files, names known in advance, nothing listed or read. */
function bareRenames(spool) {
  const base = join(spool, 'c', 'new', '0')
  const files = []
  for (const b7 of readdirSync(base).sort()) for (const b10 of readdirSync(join(base, b7)).sort()) for (const n of readdirSync(join(base, b7, b10)).sort()) files.push([join(base, b7, b10, n), n])
  const cur = join(spool, 'c', 'cur', 'floor')
  mkdirSync(cur, {recursive: true})
  const t = performance.now()
  for (const [path, n] of files) {
    renameSync(path, join(cur, n))
    renameSync(join(cur, n), join(spool, 'c', 'done', n))
  }
  return (files.length / (performance.now() - t)) * 1000
}
{
  const mq = []
  const floor = []
  const none = []
  const busy = []
  for (let r = 0; r < cfg.repeats; r++) {
    mq.push(await claimAck(await prepared(`claim-${r}`, cfg.claims), cfg.claims))
    floor.push(bareRenames(await prepared(`rename-${r}`, cfg.claims)))
    // Claims with 10,000 messages in flight (held by another client) vs with none: ms per claim + ack.
    none.push(1000 / (await claimAck(await prepared(`none-${r}`, 2000), 2000)))
    busy.push(1000 / (await claimAck(await prepared(`busy-${r}`, 2000, 10_000), 2000)))
    for (const d of [`claim-${r}`, `rename-${r}`, `none-${r}`, `busy-${r}`]) rmSync(join(work, d), {force: true, recursive: true})
  }
  row('claim + ack (library) vs bare renames of the same files', mq, floor, 'msg/s', true, 'budget >= 0.3x')
  row('claim + ack (library) with 10,000 in flight vs none', busy, none, 'ms', false, 'budget <= 1.3x')
}

// ---------- 4. cold claims ----------
say(`4/7 cold claims: ${cfg.popRuns} runs each of mq pop with 10,000 messages in flight and with none`)
{
  const none = await prepared('cold-none', 200)
  const busy = await prepared('cold-busy', 200, 10_000)
  const pNone = []
  const pBusy = []
  for (let i = 0; i < cfg.popRuns * 2; i++) {
    pNone.push(timed(process.execPath, [BIN, 'pop', 'c', '-o', '/dev/null'], {env: {MQ_SPOOL: none}}).ms)
    pBusy.push(timed(process.execPath, [BIN, 'pop', 'c', '-o', '/dev/null'], {env: {MQ_SPOOL: busy}}).ms)
  }
  row('cold `mq pop` with 10,000 in flight vs none', pBusy, pNone, 'ms', false, 'budget <= 1.1x')
  // Through the CLI: one process per pop and per ack, as a shell loop pays it.
  const cli = []
  for (let i = 0; i < 20; i++) {
    const t = performance.now()
    const receipt = timed(process.execPath, [BIN, 'pop', 'c', '-o', '/dev/null'], {env: {MQ_SPOOL: none}}).out.toString().trim()
    timed(process.execPath, [BIN, 'ack', 'c', receipt], {env: {MQ_SPOOL: none}})
    cli.push(1000 / (performance.now() - t))
  }
  const nodeRate = []
  for (let i = 0; i < 20; i++) nodeRate.push(1000 / (2 * timed(process.execPath, ['-e', '0']).ms))
  row('`mq pop` + `mq ack` (2 processes) vs 2x `node -e 0`', cli, nodeRate, 'msg/s', true, 'shell-loop rate')
  rmSync(none, {force: true, recursive: true})
  rmSync(busy, {force: true, recursive: true})
}

// ---------- 5. the worker ----------
say(`5/7 the worker: mq consume over ${cfg.consume} messages with /bin/true, beside a plain spawn loop`)
/** Rate (msg/s) between the first and the last of `n` completions whose times `lines` reports. */
const rateOf = (times) => ((times.length - 1) / (times.at(-1) - times[0])) * 1000
/** mq consume --json over n messages: the time each event line arrives here (start-up excluded). */
function consumeRun(n, j) {
  const spool = join(work, `consume-${j}`)
  timed(process.execPath, [BIN, 'push', 'q', '--batch'], {env: {MQ_SPOOL: spool}, input: Array.from({length: n}, (_, i) => `m${i}`).join('\n')})
  spawnSync('sync', ['-f', spool])
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'consume', 'q', '--once', '--json', '-j', String(j), '--exec', '/bin/true'], {env: {...env, MQ_SPOOL: spool}, stdio: ['ignore', 'pipe', 'ignore']})
    const times = []
    let buf = ''
    child.stdout.on('data', (c) => {
      buf += c
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        buf = buf.slice(i + 1)
        times.push(performance.now())
      }
    })
    child.on('error', reject)
    child.on('close', () => {
      rmSync(spool, {force: true, recursive: true})
      if (times.length !== n) reject(new Error(`consume reported ${times.length} of ${n}`))
      else resolve(rateOf(times))
    })
  })
}
// The floor: a plain Node loop spawning the same program the same way: its own process group,
// an environment like a handler's, the body on stdin; j at a time. Timed the same way.
const spawnFloor = `
  const {spawn} = require('child_process'); const n = +process.argv[1], j = +process.argv[2]
  const body = Buffer.from('m1'); const times = []; let started = 0
  const next = () => {
    if (started >= n) return; started++
    const env = {...process.env, MQ_QUEUE: 'q', MQ_ID: '01a2083023780000-0b8c0d2f1acb4082', MQ_ATTEMPT: '1',
      MQ_ENQUEUED_AT: new Date().toISOString(), MQ_PRIORITY: '0', MQ_RECEIPT: '01a2083023780000-0b8c0d2f1acb4082,a1,t00000000,l1'}
    const c = spawn('/bin/true', [], {detached: true, env, stdio: ['pipe', 'ignore', 'pipe']})
    c.stdin.on('error', () => {}); c.stdin.end(body); c.stderr.on('data', () => {})
    c.on('close', () => { times.push(performance.now()); if (times.length === n) console.log(((n - 1) / (times.at(-1) - times[0])) * 1000); else next() })
  }
  for (let i = 0; i < j; i++) next()`
{
  for (const j of [2, 8]) {
    const mq = []
    const floor = []
    for (let r = 0; r < cfg.repeats; r++) {
      mq.push(await consumeRun(cfg.consume, j))
      floor.push(Number(spawnSync(process.execPath, ['-e', spawnFloor, String(cfg.consume), String(j)], {env}).stdout.toString()))
    }
    row(`\`mq consume -j ${j} --exec /bin/true\` vs a spawn loop (-j ${j})`, mq, floor, 'msg/s', true, j === 2 ? 'budget >= 0.7x' : '')
  }
}

// ---------- 4 + 5. backlog and memory ----------
say(`6/7 backlog: filling queues of 1k and ${cfg.backlog.toLocaleString()} ready messages (written directly in the spool format)`)
/** Files n ready messages the way a foreign producer would (mq-spool(5)): 4 per ms, as a busy producer makes them. */
function fill(spool, queue, n) {
  const root = join(spool, queue)
  for (const s of ['tmp', 'new', 'delay', 'cur', 'done', 'dead', 'bad']) mkdirSync(join(root, s), {recursive: true})
  const t0 = Date.now() - 86_400_000
  let dir = ''
  for (let i = 0; i < n; i++) {
    const id = `${timeHex(t0 + Math.floor(i / 4))}${(i % 4).toString(16).padStart(4, '0')}-00000000000000b1`
    const [b7, b10] = bucketsOf(id)
    const d = join(root, 'new', '0', b7, b10)
    if (d !== dir) mkdirSync((dir = d), {recursive: true})
    const fd = openSync(join(d, id), 'w')
    writeSync(fd, 'backlog')
    closeSync(fd)
  }
  const fd = openSync(join(root, 'new'), 'r')
  fsyncSync(fd)
  closeSync(fd)
}
{
  const small = join(work, 'backlog-1k')
  const large = join(work, 'backlog-large')
  fill(small, 'q', 1000)
  let t = Date.now()
  fill(large, 'q', cfg.backlog)
  say(`   filled ${cfg.backlog.toLocaleString()} in ${((Date.now() - t) / 1000).toFixed(0)} s`)
  const p1 = []
  const pN = []
  for (let i = 0; i < cfg.popRuns; i++) {
    p1.push(timed(process.execPath, [BIN, 'pop', 'q', '-o', '/dev/null'], {env: {MQ_SPOOL: small}}).ms)
    pN.push(timed(process.execPath, [BIN, 'pop', 'q', '-o', '/dev/null'], {env: {MQ_SPOOL: large}}).ms)
  }
  row(`cold \`mq pop\` at ${cfg.backlog.toLocaleString()} ready vs at 1k`, pN, p1, 'ms', false, 'budget <= 2x')
  t = performance.now()
  const st = timed(process.execPath, [BIN, 'stats', 'q', '--json'], {env: {MQ_SPOOL: large}})
  const stSmall = []
  const stLarge = [st.ms]
  for (let i = 0; i < 2; i++) stLarge.push(timed(process.execPath, [BIN, 'stats', 'q', '--json'], {env: {MQ_SPOOL: large}}).ms)
  for (let i = 0; i < 3; i++) stSmall.push(timed(process.execPath, [BIN, 'stats', 'q', '--json'], {env: {MQ_SPOOL: small}}).ms)
  row(`\`mq stats\` at ${cfg.backlog.toLocaleString()} vs at 1k`, stLarge, stSmall, 'ms', false, `counts every file: ready=${JSON.parse(st.out).ready}`)

  say('7/7 memory: peak RSS at both backlogs')
  const mem = (args) => [peakRss(args, large) / 1024, peakRss(args, small) / 1024]
  for (const [label, args] of [
    ['pop', ['pop', 'q', '-o', '/dev/null']],
    ['stats', ['stats', 'q']],
    ['push', ['push', 'q', 'x']],
  ]) {
    const [l, s] = mem(args)
    row(`peak RSS \`mq ${label}\` at ${cfg.backlog.toLocaleString()} vs at 1k`, [l], [s], 'MiB', false, 'flat is 1.0x')
  }
  const nodeRss = peakRssNode()
  rows.push({floor: '', mq: fmt(nodeRss), name: 'peak RSS `node -e 0` (reference)', note: '', ratio: '', unit: 'MiB'})
}

}

// ---------- the server engines ----------
if (only === undefined || only === 'redis') {
  const {benchRedis} = await import('./bench-servers.js')
  await benchRedis({BIN, ROOT, cfg, row, say, timed})
}
if (only === undefined || only === 'rabbitmq') {
  const {benchRabbit} = await import('./bench-servers.js')
  await benchRabbit({BIN, ROOT, cfg, row, say, timed})
}
if (only === undefined || only === 'postgres') {
  const {benchPostgres} = await import('./bench-servers.js')
  await benchPostgres({BIN, ROOT, cfg, row, say, timed})
}

function peakRssNode() {
  const r = spawnSync(process.execPath, ['-e', 'process.on("exit",()=>process.stdout.write(/VmHWM:\\s*(\\d+)/.exec(require("fs").readFileSync("/proc/self/status","utf8"))[1]))'])
  return Number(r.stdout.toString()) / 1024
}

rmSync(work, {force: true, recursive: true})

// ---------- report ----------
const head = ['measure', 'unit', 'mq median (IQR)', 'floor median (IQR)', 'ratio', 'note']
const table = [head, ...rows.map((r) => [r.name, r.unit, r.mq, r.floor, r.ratio, r.note])]
const cpu = (() => {
  try {
    return spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).stdout.toString().trim()
  } catch {
    return ''
  }
})()
console.log(`\nmq benchmark (${quick ? 'quick' : 'full'}): node ${process.version}, ${cpu || 'unknown CPU'}, ${spawnSync('nproc').stdout.toString().trim()} cores, ${Math.round((Date.now() - started) / 1000)} s`)
console.log('| ' + head.join(' | ') + ' |')
console.log('|' + head.map(() => '---').join('|') + '|')
for (const r of table.slice(1)) console.log('| ' + r.join(' | ') + ' |')
