// The server engines' part of `npm run bench` (scripts/bench.js calls benchRedis): each figure
// beside a floor measured in the same run against the same private server.
//
// Redis: a redis-server of the benchmark's own on a free port (--save '' --appendonly no).
//   - `mq consume -j 4` of /bin/true on Redis (and on PostgreSQL) vs the same on the spool
//   - claim + ack 16 at once in one process vs a BullMQ Worker with concurrency 16
//   - `mq push --batch` vs a raw ioredis pipeline writing the same hashes and sorted sets, each
//     a process of its own (start-up included on both sides, as for the spool)
//   - claim + ack in one process (the library) vs BullMQ's Worker processing no-op jobs (BullMQ
//     is installed by the benchmark itself, into a cache directory: see bullmq())
//   - cold `mq push --url redis://...` vs `node -e 0`
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * BullMQ, the benchmark's own dependency (not the project's: its optional native parts are not
 * in every registry for every platform, which would break `npm ci`): installed on first use
 * into a cache directory ($MQ_BENCH_DEPS, else the temp directory), then imported from there.
 */
const BULLMQ = '5.81.5'
async function bullmq(say) {
  const dir = process.env.MQ_BENCH_DEPS ?? join(tmpdir(), `mq-bench-deps-bullmq-${BULLMQ}`)
  const entry = join(dir, 'node_modules', 'bullmq', 'dist', 'cjs', 'index.js')
  if (!existsSync(entry)) {
    say(`   installing bullmq@${BULLMQ} into ${dir} (for this benchmark only)`)
    const r = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', dir, `bullmq@${BULLMQ}`], {stdio: 'ignore'})
    if (r.status !== 0) throw new Error(`npm install bullmq@${BULLMQ} failed (exit ${r.status})`)
  }
  return (await import(entry)).default ?? (await import(entry))
}

/**
 * The cold-start row of a server engine: `mq push --url URL` vs `node -e 0`, alternating. A
 * first push, not timed, does what only a first push does (creates a schema, loads scripts).
 */
function coldPush({BIN, cfg, row, say, timed}, engine, url) {
  const scheme = new URL(url).protocol
  // PostgreSQL's pushes go through the push relay (src/relay/) as a shell loop's do; the same
  // push without it (relay=off, a new connection each) is measured beside it, interleaved.
  const direct = engine === 'postgres' ? `${url}${url.includes('?') ? '&' : '?'}relay=off` : undefined
  say(`${engine} 1/3 cold start: ${cfg.coldRuns} runs each of node -e 0 and mq push --url ${scheme}//${direct ? ' (through the relay, and with relay=off)' : ''}`)
  timed(process.execPath, [BIN, 'push', 'cold', 'first'], {env: {MQ_URL: url}})
  // The first push started the relay: give it the moment it takes to listen.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)
  const node = []
  const push = []
  const own = []
  for (let i = 0; i < cfg.coldRuns; i++) {
    node.push(timed(process.execPath, ['-e', '0']).ms)
    push.push(timed(process.execPath, [BIN, 'push', 'cold', 'hello'], {env: {MQ_URL: url}}).ms)
    if (direct) own.push(timed(process.execPath, [BIN, 'push', 'cold', 'hello'], {env: {MQ_URL: direct}}).ms)
  }
  row(`${engine}: cold \`mq push --url ${scheme}//\` vs \`node -e 0\``, push, node, 'ms', false, engine === 'rabbitmq' ? 'reported' : 'aim <= 1.3x')
  if (direct) row(`${engine}: cold \`mq push\`, relay=off (a connection of its own) vs \`node -e 0\``, own, node, 'ms', false, 'reported')
}

/**
 * The worker on a server engine against the same worker on the spool: `mq consume -j 4
 * --drain --exec /bin/true` over n messages pushed first (msg/s of the consume alone), alternating.
 */
function consumeVsSpool({BIN, cfg, row, say, timed}, engine, url, j = 4, aim = engine === 'redis' ? 'aim >= 1.0x' : 'aim >= 0.9x') {
  const n = cfg.consume
  say(`${engine} worker: mq consume -j ${j} --drain --exec /bin/true over ${n} messages, ${cfg.repeats} runs each on ${engine} and on the spool`)
  const input = Array.from({length: n}, (_, i) => `m${i}`).join('\n')
  const ours = []
  const spool = []
  for (let r = 0; r < cfg.repeats; r++) {
    const u = url()
    timed(process.execPath, [BIN, 'push', 'w', '--batch'], {env: {MQ_URL: u}, input})
    ours.push((n / timed(process.execPath, [BIN, 'consume', 'w', '-j', String(j), '--drain', '--exec', '/bin/true'], {env: {MQ_URL: u}}).ms) * 1000)
    const dir = mkdtempSync(join(tmpdir(), 'mq-bench-consume-'))
    try {
      timed(process.execPath, [BIN, 'push', 'w', '--batch'], {env: {MQ_SPOOL: dir}, input})
      spool.push((n / timed(process.execPath, [BIN, 'consume', 'w', '-j', String(j), '--drain', '--exec', '/bin/true'], {env: {MQ_SPOOL: dir}}).ms) * 1000)
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  }
  row(`${engine}: \`mq consume -j ${j} --drain --exec /bin/true\` (${n}) vs the same on the spool`, ours, spool, 'msg/s', true, aim)
}

/** Fills queue c of backend b with n small messages. */
async function fill(b, n) {
  const body = Buffer.from('x'.repeat(40))
  for (let i = 0; i < n; i += 1000) await b.push('c', Array.from({length: Math.min(1000, n - i)}, () => ({body})))
}

/**
 * Claims and acks n messages of queue c with `width` loops at once in one process, each as a
 * worker written with the library does: a claim, then ackAndClaim (the ack and the next claim
 * in one round trip where the engine has it: Redis's ack-claim script); msg/s.
 */
async function claimAckRate(b, n, width = 1) {
  let left = n
  const t = performance.now()
  await Promise.all(
    Array.from({length: width}, async () => {
      left--
      let d = await b.claim('c', {leaseMs: 60_000})
      while (d) {
        const more = --left >= 0
        d = more ? (await b.ackAndClaim('c', d.receipt, {leaseMs: 60_000})).next : (await b.ack('c', d.receipt), null)
      }
    }),
  )
  return (n / (performance.now() - t)) * 1000
}

/** A BullMQ Worker at `concurrency` processing n no-op jobs of a fresh queue; msg/s. */
async function bullRate({Queue, Worker}, port, name, n, concurrency) {
  const connection = {host: '127.0.0.1', maxRetriesPerRequest: null, port}
  const queue = new Queue(name, {connection})
  for (let i = 0; i < n; i += 1000)
    await queue.addBulk(Array.from({length: Math.min(1000, n - i)}, () => ({data: {body: 'x'.repeat(40)}, name: 'j', opts: {removeOnComplete: true}})))
  let done = 0
  const t = performance.now()
  const rate = await new Promise((resolve) => {
    const w = new Worker(name, async () => {}, {concurrency, connection})
    w.on('completed', () => {
      if (++done === n) {
        const r = (n / (performance.now() - t)) * 1000
        w.close().then(() => resolve(r))
      }
    })
  })
  await queue.close()
  return rate
}

async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'mq-bench-redis-'))
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'log')], {stdio: 'ignore'})
  for (let i = 0; i < 200; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG') break
    await new Promise((r) => setTimeout(r, 25))
  }
  return {
    port,
    stop() {
      child.kill('SIGKILL')
      rmSync(dir, {force: true, recursive: true})
    },
  }
}

/**
 * Runs the Redis rows. `h` carries the benchmark's helpers: timed, row, say, cfg, ROOT, BIN.
 * Returns false (having added nothing) where no redis-server is installed.
 */
export async function benchRedis(h) {
  const {BIN, ROOT, cfg, row, say, timed} = h
  if (spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli'], {stdio: 'ignore'}).status !== 0) {
    say('redis: skipped (no redis-server or redis-cli on PATH)')
    return false
  }
  const server = await startRedis()
  const base = `redis://127.0.0.1:${server.port}/0`
  let n = 0
  const url = () => `${base}?prefix=b${n++}`
  try {
    coldPush(h, 'redis', url())

    // ---- batch push ----
    say(`redis 2/3 batch push: ${cfg.batch} messages, ${cfg.repeats} runs each of mq push --batch and a raw ioredis pipeline`)
    const input = Array.from({length: cfg.batch}, (_, i) => `message number ${i} with a little payload`).join('\n')
    const floorScript = `
      const {Redis} = require(${JSON.stringify(join(ROOT, 'node_modules', 'ioredis'))})
      const r = new Redis({port: +process.argv[1], host: '127.0.0.1'})
      const n = +process.argv[2], pre = process.argv[3]
      const p = r.pipeline()
      for (let i = 0; i < n; i++) {
        const id = String(i).padStart(16, '0') + '-0000000000000000'
        p.hset(pre + ':{q}:m:' + id, 'b', 'message number ' + i + ' with a little payload', 'p', 0, 'a', 0, 's', 'ready')
        p.zadd(pre + ':{q}:ready', 9, id)
      }
      p.exec().then(() => r.quit())`
    const mq = []
    const floor = []
    for (let r = 0; r < cfg.repeats; r++) {
      floor.push((cfg.batch / timed(process.execPath, ['-e', floorScript, String(server.port), String(cfg.batch), `floor${r}`]).ms) * 1000)
      mq.push((cfg.batch / timed(process.execPath, [BIN, 'push', 'b', '--batch'], {env: {MQ_URL: url()}, input}).ms) * 1000)
    }
    row(`redis: \`mq push --batch\` (${cfg.batch}) vs raw ioredis pipeline`, mq, floor, 'msg/s', true, 'budget >= 0.5x')

    // ---- claim + ack vs BullMQ, one at a time and 16 at once (16 loops in one process on one
    // pipelined connection, against a Worker with concurrency 16) ----
    const {RedisBackend} = await import(join(ROOT, 'dist', 'backends', 'redis', 'index.js'))
    const {Queue: MqQueue} = await import(join(ROOT, 'dist', 'queue.js'))
    const bull = await bullmq(say)
    for (const width of [1, 16]) {
      say(`redis claim + ack, ${width} at once: ${cfg.claims} messages, ${cfg.repeats} runs each of the library and a BullMQ Worker (concurrency ${width})`)
      const ours = []
      const theirs = []
      for (let r = 0; r < cfg.repeats; r++) {
        const b = new MqQueue(new RedisBackend(url()))
        await fill(b, cfg.claims)
        ours.push(await claimAckRate(b, cfg.claims, width))
        await b.close()
        theirs.push(await bullRate(bull, server.port, `bull${width}-${r}`, cfg.claims, width))
      }
      if (width === 1) row(`redis: claim + ack (${cfg.claims}, one process: ackAndClaim) vs BullMQ Worker, no-op jobs`, ours, theirs, 'msg/s', true, 'aim >= 1.2x')
      else row(`redis: claim + ack, 16 at once (${cfg.claims}, one process) vs BullMQ Worker concurrency 16`, ours, theirs, 'msg/s', true, 'aim >= 1x')
    }

    consumeVsSpool(h, 'redis', url)
  } finally {
    server.stop()
  }
  return true
}

/**
 * PostgreSQL rows, against the server MQ_BENCH_POSTGRES_URL (else MQ_TEST_POSTGRES_URL) names,
 * in a schema of the benchmark's own (dropped after):
 *   - `mq push --batch` vs a raw `pg` loop inserting the same rows in one transaction
 *   - claim + ack in one process (the library) vs a raw SKIP LOCKED claim-and-delete loop
 *   - cold `mq push --url postgres://...` vs `node -e 0`
 */
export async function benchPostgres(h) {
  const {BIN, ROOT, cfg, row, say, timed} = h
  const base = process.env.MQ_BENCH_POSTGRES_URL ?? process.env.MQ_TEST_POSTGRES_URL
  if (!base) {
    say('postgres: skipped (set MQ_BENCH_POSTGRES_URL or MQ_TEST_POSTGRES_URL)')
    return false
  }
  const pg = (await import('pg')).default
  const admin = new pg.Client({connectionString: base})
  await admin.connect()
  const schemas = []
  let n = 0
  const url = () => {
    const s = `bench_${process.pid}_${n++}`
    schemas.push(s)
    const u = new URL(base)
    u.searchParams.set('schema', s)
    return u.toString()
  }
  try {
    coldPush(h, 'postgres', url())

    say(`postgres 2/3 batch push: ${cfg.batch} messages, ${cfg.repeats} runs each of mq push --batch and a raw pg loop`)
    const input = Array.from({length: cfg.batch}, (_, i) => `message number ${i} with a little payload`).join('\n')
    const floorScript = `
      const pg = require(${JSON.stringify(join(ROOT, 'node_modules', 'pg'))})
      const c = new pg.Client({connectionString: process.argv[1]}); const n = +process.argv[2], s = process.argv[3]
      ;(async () => {
        await c.connect()
        await c.query('BEGIN')
        for (let i = 0; i < n; i++)
          await c.query('INSERT INTO ' + s + '.messages (queue, id, body, priority, state, enqueued_at) VALUES ($1, $2, $3, 0, $4, $5)',
            ['b', String(i).padStart(16, '0') + '-0000000000000000', Buffer.from('message number ' + i + ' with a little payload'), 'ready', Date.now()])
        await c.query('COMMIT')
        await c.end()
      })()`
    const mq = []
    const floor = []
    for (let r = 0; r < cfg.repeats; r++) {
      const fu = url()
      timed(process.execPath, [BIN, 'config', 'warm', '--max-attempts', '5'], {env: {MQ_URL: fu}}) // creates the floor's tables (inspection creates no schema)
      floor.push((cfg.batch / timed(process.execPath, ['-e', floorScript, base, String(cfg.batch), `"${schemas.at(-1)}"`]).ms) * 1000)
      const mu = url()
      timed(process.execPath, [BIN, 'config', 'warm', '--max-attempts', '5'], {env: {MQ_URL: mu}}) // the schema made before the timed push
      mq.push((cfg.batch / timed(process.execPath, [BIN, 'push', 'b', '--batch'], {env: {MQ_URL: mu}, input}).ms) * 1000)
    }
    row(`postgres: \`mq push --batch\` (${cfg.batch}) vs raw pg loop, one transaction`, mq, floor, 'msg/s', true, 'budget >= 0.5x')

    say(`postgres 3/3 claim + ack in one process: ${cfg.claims} messages, ${cfg.repeats} runs each of the library and a raw SKIP LOCKED loop`)
    const {PostgresBackend} = await import(join(ROOT, 'dist', 'backends', 'postgres', 'index.js'))
    const {Queue: MqQueue} = await import(join(ROOT, 'dist', 'queue.js'))
    const ours = []
    const raw = []
    for (let r = 0; r < cfg.repeats; r++) {
      const b = new MqQueue(new PostgresBackend(url()))
      await fill(b, cfg.claims)
      const s = `"${schemas.at(-1)}"`
      // The floor works on a copy of the same rows.
      await admin.query(`CREATE TABLE ${s}.raw AS SELECT * FROM ${s}.messages`)
      await admin.query(`CREATE INDEX ON ${s}.raw (queue, id)`)
      await admin.query(`ANALYZE ${s}.raw`)
      ours.push(await claimAckRate(b, cfg.claims))
      await b.close()
      const c = new pg.Client({connectionString: base})
      await c.connect()
      const t = performance.now()
      for (let i = 0; i < cfg.claims; i++) {
        const got = await c.query(`SELECT id, body FROM ${s}.raw WHERE queue = 'c' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`)
        await c.query(`DELETE FROM ${s}.raw WHERE queue = 'c' AND id = $1`, [got.rows[0].id])
      }
      raw.push((cfg.claims / (performance.now() - t)) * 1000)
      await c.end()
    }
    row(`postgres: claim + ack (${cfg.claims}, one process) vs raw SKIP LOCKED claim-and-delete`, ours, raw, 'msg/s', true, 'budget >= 0.5x')

    consumeVsSpool(h, 'postgres', url)

    // ---- stats and a bounded push at a large backlog vs at 1k (counts kept by triggers) ----
    say(`postgres: stats and a bounded push at ${cfg.backlog.toLocaleString()} ready messages vs at 1k`)
    {
      const b = new MqQueue(new PostgresBackend(url()))
      const body = Buffer.from('x'.repeat(40))
      for (let i = 0; i < cfg.backlog; i += 10_000) await b.push('large', Array.from({length: Math.min(10_000, cfg.backlog - i)}, () => ({body})))
      await b.push('small', Array.from({length: 1000}, () => ({body})))
      await b.setConfig('large', {maxDepth: cfg.backlog * 2})
      await b.setConfig('small', {maxDepth: cfg.backlog * 2})
      const time = async (fn) => {
        const t = performance.now()
        await fn()
        return performance.now() - t
      }
      const large = []
      const small = []
      const largePush = []
      const smallPush = []
      for (let r = 0; r < cfg.popRuns; r++) {
        large.push(await time(() => b.stats('large')))
        small.push(await time(() => b.stats('small')))
        largePush.push(await time(() => b.push('large', [{body}])))
        smallPush.push(await time(() => b.push('small', [{body}])))
      }
      await b.close()
      row(`postgres: \`stats\` of a queue at ${cfg.backlog.toLocaleString()} vs at 1k`, large, small, 'ms', false, 'budget <= 1.5x')
      row(`postgres: bounded push at ${cfg.backlog.toLocaleString()} vs at 1k`, largePush, smallPush, 'ms', false, 'budget <= 1.5x')
    }
  } finally {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    await admin.end()
  }
  return true
}

/**
 * RabbitMQ rows, against the broker MQ_BENCH_RABBITMQ_URL names (else the machine's, in a vhost
 * of the benchmark's own made with rabbitmqctl and deleted after):
 *   - cold `mq push --url amqp://...` vs `node -e 0`
 *   - `mq push --batch` vs a raw amqplib publisher with confirms (persistent messages into a
 *     quorum queue, as mq's)
 *   - `mq consume -j 8` of /bin/true vs the same worker on the spool
 */
export async function benchRabbit(h) {
  const {BIN, ROOT, cfg, row, say, timed} = h
  let base = process.env.MQ_BENCH_RABBITMQ_URL
  let vhost
  if (!base) {
    if (spawnSync('rabbitmqctl', ['-q', 'list_vhosts'], {stdio: 'ignore'}).status !== 0) {
      say('rabbitmq: skipped (no broker that rabbitmqctl reaches, and MQ_BENCH_RABBITMQ_URL is not set)')
      return false
    }
    vhost = `mq-bench-${process.pid}`
    spawnSync('rabbitmqctl', ['-q', 'add_vhost', vhost])
    spawnSync('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*'])
    base = `amqp://guest:guest@127.0.0.1:5672/${vhost}`
  }
  let n = 0
  const url = () => `${base}?prefix=b${n++}`
  try {
    coldPush(h, 'rabbitmq', url())
    say(`rabbitmq 2/3 batch push: ${cfg.batch} messages, ${cfg.repeats} runs each of mq push --batch and a raw amqplib publisher with confirms`)
    const input = Array.from({length: cfg.batch}, (_, i) => `message number ${i} with a little payload`).join('\n')
    const floorScript = `
      const amqp = require(${JSON.stringify(join(ROOT, 'node_modules', 'amqplib'))})
      ;(async () => {
        const c = await amqp.connect(process.argv[1], {noDelay: true})
        const ch = await c.createConfirmChannel()
        const q = process.argv[3]
        await ch.assertQueue(q, {durable: true, arguments: {'x-queue-type': 'quorum'}})
        for (let i = 0; i < +process.argv[2]; i++) ch.sendToQueue(q, Buffer.from('message number ' + i + ' with a little payload'), {persistent: true, messageId: String(i)})
        await ch.waitForConfirms()
        await c.close()
      })()`
    const mq = []
    const floor = []
    for (let r = 0; r < cfg.repeats; r++) {
      floor.push((cfg.batch / timed(process.execPath, ['-e', floorScript, base, String(cfg.batch), `floor${r}-${Date.now()}`]).ms) * 1000)
      mq.push((cfg.batch / timed(process.execPath, [BIN, 'push', 'b', '--batch'], {env: {MQ_URL: url()}, input}).ms) * 1000)
    }
    row(`rabbitmq: \`mq push --batch\` (${cfg.batch}) vs raw amqplib publisher with confirms`, mq, floor, 'msg/s', true, 'budget >= 0.5x')
    consumeVsSpool(h, 'rabbitmq', url, 8, 'reported')
  } finally {
    if (vhost) spawnSync('rabbitmqctl', ['-q', 'delete_vhost', vhost])
  }
  return true
}
