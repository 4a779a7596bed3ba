#!/usr/bin/env node
// mq's benchmark: every figure beside its floor, measured in the same run on the same disk.
//
//   npm run bench              full run (1M-message backlog; ~3-4 minutes on a 2-core VM)
//   npm run bench -- --quick   smoke run (100k backlog, fewer repeats; ~40 s)
//
// Floors: `node -e 0` for start-up; plain Node loops doing the same filesystem work (durable
// create+fsync+rename; rename-claim+rename-ack) for throughput. Reports medians over several
// runs with the interquartile range as spread. Needs `npm install` (which builds dist/).
import {spawnSync} from 'node:child_process'
import {closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'bin', 'run.cjs')
const quick = process.argv.includes('--quick')
const {SpoolBackend} = await import(join(ROOT, 'dist', 'backends', 'spool', 'index.js'))
const {bucketsOf, timeHex} = await import(join(ROOT, 'dist', 'message-id.js'))

const cfg = quick
  ? {backlog: 100_000, batch: 2000, claims: 2000, coldRuns: 11, popRuns: 7, repeats: 3}
  : {backlog: 1_000_000, batch: 10_000, claims: 10_000, coldRuns: 31, popRuns: 15, repeats: 5}
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
  writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(process.env.MQ_BENCH_RSS, String(process.resourceUsage().maxRSS)))`)
  const out = join(work, 'rss.txt')
  timed(process.execPath, ['--require', hook, BIN, ...args], {env: {MQ_BENCH_RSS: out, MQ_SPOOL: spool}, ok: [0, 3]})
  return Number(spawnSync('cat', [out]).stdout.toString())
}

function row(name, mq, floor, unit, higherIsBetter, note = '') {
  const ratio = higherIsBetter ? med(mq) / med(floor) : med(mq) / med(floor)
  rows.push({floor: `${fmt(med(floor))} (${spread(floor)})`, mq: `${fmt(med(mq))} (${spread(mq)})`, name, note, ratio: `${ratio.toFixed(2)}x`, unit})
}

// ---------- 1. cold start ----------
say(`1/5 cold start: ${cfg.coldRuns} runs each of node -e 0 and mq push (fsynced)`)
{
  const spool = join(work, 'cold')
  const node = []
  const push = []
  for (let i = 0; i < cfg.coldRuns; i++) {
    node.push(timed(process.execPath, ['-e', '0']).ms)
    push.push(timed(process.execPath, [BIN, 'push', 'cold', 'hello'], {env: {MQ_SPOOL: spool}}).ms)
  }
  row('cold `mq push` vs `node -e 0`', push, node, 'ms', false, 'budget <= 1.5x')
  const pop = []
  for (let i = 0; i < cfg.coldRuns; i++) pop.push(timed(process.execPath, [BIN, 'pop', 'cold'], {env: {MQ_SPOOL: spool}}).ms)
  row('cold `mq pop` vs `node -e 0`', pop, node, 'ms', false)
}

// ---------- 2. batch push ----------
say(`2/5 batch push: ${cfg.batch} messages, ${cfg.repeats} runs each of mq push --batch and a plain durable Node loop`)
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

// ---------- 3. claim + ack ----------
say(`3/5 claim + ack: ${cfg.claims} messages, library calls and a plain rename loop`)
{
  const mq = []
  const floor = []
  const body = Buffer.from('x'.repeat(40))
  for (let r = 0; r < cfg.repeats; r++) {
    const spool = join(work, `claim-${r}`)
    const b = new SpoolBackend(spool)
    for (let i = 0; i < cfg.claims; i += 1000) await b.push('c', Array.from({length: Math.min(1000, cfg.claims - i)}, () => ({body})))
    let t = performance.now()
    for (let i = 0; i < cfg.claims; i++) {
      const d = await b.claim('c', {leaseMs: 60_000})
      await b.ack('c', d.receipt)
    }
    mq.push((cfg.claims / (performance.now() - t)) * 1000)
    // Floor: the same two renames per message, names known in advance, nothing listed.
    const dir = join(work, `rename-${r}`)
    for (const s of ['new', 'cur', 'done']) mkdirSync(join(dir, s), {recursive: true})
    for (let i = 0; i < cfg.claims; i++) closeSync(openSync(join(dir, 'new', `m${i}`), 'w'))
    t = performance.now()
    for (let i = 0; i < cfg.claims; i++) {
      renameSync(join(dir, 'new', `m${i}`), join(dir, 'cur', `m${i}`))
      renameSync(join(dir, 'cur', `m${i}`), join(dir, 'done', `m${i}`))
    }
    floor.push((cfg.claims / (performance.now() - t)) * 1000)
    rmSync(spool, {force: true, recursive: true})
    rmSync(dir, {force: true, recursive: true})
  }
  row('claim + ack (library) vs rename loop', mq, floor, 'msg/s', true, 'one process')
  // Through the CLI: one process per pop and per ack, as a shell loop pays it.
  const spool = join(work, 'cli-claim')
  timed(process.execPath, [BIN, 'push', 'c', '--batch'], {env: {MQ_SPOOL: spool}, input: Array.from({length: 20}, (_, i) => `m${i}`).join('\n')})
  const cli = []
  for (let i = 0; i < 20; i++) {
    const t = performance.now()
    const receipt = timed(process.execPath, [BIN, 'pop', 'c', '-o', '/dev/null'], {env: {MQ_SPOOL: spool}}).out.toString().trim()
    timed(process.execPath, [BIN, 'ack', 'c', receipt], {env: {MQ_SPOOL: spool}})
    cli.push(1000 / (performance.now() - t))
  }
  const nodeRate = []
  for (let i = 0; i < 20; i++) nodeRate.push(1000 / (2 * timed(process.execPath, ['-e', '0']).ms))
  row('`mq pop` + `mq ack` (2 processes) vs 2x `node -e 0`', cli, nodeRate, 'msg/s', true, 'shell-loop rate')
}

// ---------- 4 + 5. backlog and memory ----------
say(`4/5 backlog: filling queues of 1k and ${cfg.backlog.toLocaleString()} ready messages (written directly in the spool format)`)
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

  say('5/5 memory: peak RSS at both backlogs')
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

function peakRssNode() {
  const r = spawnSync(process.execPath, ['-e', 'process.on("exit",()=>process.stdout.write(String(process.resourceUsage().maxRSS)))'])
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
