import {spawn} from 'node:child_process'
import {chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, HEAVY_MS, mq, ROOT, run, userEnv} from '../support/helpers.js'
import {describeWithServer, hasProgram, makeTlsFiles, type PostgresServer, privatePostgresUnavailable, rabbitUnavailable, type RabbitVhost, type RedisServer, redisServerUnavailable, startPostgres, startRabbitVhost, startRedis, type TlsFiles, withPostgres} from '../support/servers.js'

/**
 * Every example in the README, in man/mq.1 and mq-spool.5, and in `--help` runs as written
 * (issue 11). Each runs in a sandbox of its own: a spool with something in every queue the
 * examples name (ready messages, a dead letter, a message held under $receipt, a topic), a
 * git repository as the working directory with the fixtures the examples use (./handler.sh,
 * ./work, ./run-one-test.sh, dir/, archive/), HOME, and an `mq` on PATH that records each exit
 * status. An example fails if bash fails, if any mq in it exits with a status other than 0, 3
 * (empty) or 4 (duplicate key), if a handler it runs fails, or if anything prints a stack
 * trace. A worker meant to run until stopped (consume without --drain/--once, a --wait loop,
 * --idle-exit) is stopped with SIGTERM after a few seconds, as systemd would: it must exit 0.
 *
 * Paths of a deployment (/var/spool/mq, /opt/…, /usr/local/bin/mq, /var/log/…) are mapped into
 * the sandbox; nothing else of an example is changed.
 */

interface Step {
  script: string
  /** Console blocks: the output the document shows, to compare with what runs. */
  shown?: string[]
}

interface Example {
  where: string
  /** Run in order, in one sandbox. */
  steps: Step[]
  /** A session shown from an empty spool. */
  fresh?: boolean
  js?: boolean
  /** Runs against the test servers (its hosts mapped to them): see 'every server example'. */
  server?: boolean
  /**
   * A CI gate (jq -e): the sandbox has a dead letter in "jobs", which is not the last queue
   * listed, so the gate must fail (exit 1); a gate that looked at the last queue only passed.
   */
  gate?: boolean
}

const one = (where: string, script: string): Example => ({steps: [{script}], where})

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8')
const unroff = (s: string) =>
  s
    .split('\n')
    .filter((l) => !/^\.(RS|RE|nf|fi|PP|br)\b/.test(l))
    .map((l) => l.replace(/^\.B /, ''))
    .join('\n')
    .replaceAll('\\-', '-')
    .replaceAll('\\(dq', '"')
    .replaceAll('\\e', '\\')

function helpExamples(): Example[] {
  const out: Example[] = []
  const manifests = [read('oclif.manifest.json'), read('node_modules/@oclif/plugin-autocomplete/oclif.manifest.json')]
  for (const text of manifests) {
    for (const [id, cmd] of Object.entries(JSON.parse(text).commands as Record<string, {examples?: unknown[]; hidden?: boolean}>)) {
      if (cmd.hidden) continue
      for (const e of cmd.examples ?? []) {
        const line = (typeof e === 'string' ? e : (e as {command: string}).command).replaceAll('<%= config.bin %>', 'mq').replace(/^\$ /, '')
        out.push(one(`mq ${id.replace(':', ' ')} --help: ${line}`, line))
      }
    }
  }
  return out
}

function manExamples(): Example[] {
  const out: Example[] = []
  // mq.1: "$ " lines, "> " continuations; the other lines are output.
  const man = read('man/mq.1')
  const section = unroff(man.slice(man.indexOf('.SH EXAMPLES'), man.indexOf('.SH SEE ALSO')))
  const lines = section.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('$ ')) continue
    let script = lines[i].slice(2)
    while (lines[i + 1]?.startsWith('> ')) script += '\n' + lines[++i].slice(2)
    out.push({...one(`mq(1) EXAMPLES: ${script}`, script), ...(/\bjq -e\b/.test(script) && /\.dead\b/.test(script) && {gate: true})})
  }
  // Commands to paste in mq(1)'s text: a bold line that is a crontab line or has a shell
  // operator, or a block of bold lines (.nf), run together.
  for (const m of man.matchAll(/^\.nf\n((?:\.B .*\n)+)\.fi$|^\.B ((?:\* ){5}.*|.*(?:>>|&&|\|).*)$/gm)) {
    const script = unroff(m[1] ?? '.B ' + m[2]).trim().replace(/^(\* ){5}/, '')
    out.push(one(`mq(1): ${script.split('\n')[0]}`, script))
  }
  // mq-spool.5: a producer and a consumer in shell, run together, then read back with mq.
  const spool5 = read('man/mq-spool.5')
  const blocks = [...spool5.slice(spool5.indexOf('.SH EXAMPLES')).matchAll(/^\.nf\n([\s\S]*?)^\.fi$/gm)].map((m) => unroff(m[1]))
  out.push(
    one(
      'mq-spool(5) EXAMPLES: a shell producer and consumer',
      `set -e; SPOOL=$MQ_SPOOL; body='from a shell producer'; process() { cat > "$HOME/processed"; }
mq config plain --max-attempts 5 >/dev/null  # makes the queue
${blocks[0].replaceAll('$SPOOL/jobs', '$SPOOL/plain')}
test "$(mq pop plain --json | jq -r .body)" = 'from a shell producer'
mq push plain 'from mq' >/dev/null
( ${blocks[1]} )
test "$(cat "$HOME/processed")" = 'from mq'
test "$(mq stats plain --json | jq '.done')" = 1`,
    ),
  )
  return out
}

function readmeExamples(): Example[] {
  const out: Example[] = []
  const readme = read('README.md')
  for (const m of readme.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)) {
    const [, lang, body] = m
    const where = (s: string) => `README ${lang}: ${s.split('\n')[0]}`
    if (lang === 'console') {
      // A session from an empty spool: "$ " commands, each followed by what it prints.
      const steps: Step[] = []
      for (const line of body.trimEnd().split('\n')) {
        if (line.startsWith('$ ')) steps.push({script: line.slice(2), shown: []})
        else steps.at(-1)!.shown!.push(line)
      }
      out.push({fresh: true, steps, where: where(body)})
    } else if (lang === 'sh') {
      if (/npm install|npm test/.test(body)) continue // the set-up itself
      // A loop, or a block that sets shell variables for its later lines, is one script;
      // otherwise each line is one, run in order in one sandbox.
      const lines = /\bwhile\b|^\w+=\S*$/m.test(body) ? [body] : body.split('\n').filter((l) => l.trim() && !l.startsWith('#'))
      // A block that names servers runs each line on its own against the test servers.
      if (SERVER_URL.test(body)) for (const script of lines) out.push({server: true, steps: [{script}], where: where(script)})
      else out.push({steps: lines.map((script) => ({script})), where: where(body)})
    } else if (lang === 'cron') {
      for (const line of body.trim().split('\n')) out.push(one(where(line), line.replace(/^(\S+\s+){5}/, '')))
    } else if (lang === 'ini') {
      const env = body.match(/^Environment=(.*)$/m)?.[1] ?? ''
      const exec = body.match(/^ExecStart=(.*)$/m)![1]
      out.push(one(where(exec), `export ${env}; ${exec}`))
    } else if (lang === 'js') {
      out.push({js: true, steps: [{script: body}], where: where(body)})
    }
  }
  return out
}

const SERVER_URL = /\b(rediss?|postgres(ql)?|amqps?):\/\//

/** Paths of a deployment, mapped into the sandbox. */
function mapPaths(script: string, box: string): string {
  return script
    .replaceAll('/usr/local/bin/mq', 'mq')
    .replaceAll('/var/spool/mq', `${box}/spool`)
    .replaceAll('/var/lib/node_exporter', `${box}/node_exporter`)
    .replaceAll('/var/log/', `${box}/log/`)
    .replaceAll(/\/opt\//g, `${box}/opt/`)
}

const ALLOWED = new Set([0, 3, 4])
const LONG_RUNNING = /\bconsume\b(?![^\n|;&]*--(drain|once|max-messages))|--wait|--idle-exit|\bdashboard\b|stats --watch/

let template: string
let shim: string

beforeAll(async () => {
  template = mkdtempSync(join(tmpdir(), 'mq-examples-'))
  shim = join(template, 'bin')
  mkdirSync(shim)
  writeFileSync(
    join(shim, 'mq'),
    // mq runs in the background (stdin passed on) so that the shim outlives a SIGTERM sent to
    // the example's process group and records what mq exited with.
    `#!/bin/bash
"${process.execPath}" "${BIN}" "$@" <&0 &
pid=$!
trap : TERM INT
wait $pid; status=$?
while kill -0 $pid 2>/dev/null; do wait $pid; status=$?; done
printf '%s\\t%s\\n' "$status" "$*" >> "$MQ_EXAMPLE_LOG"
exit $status
`,
  )
  chmodSync(join(shim, 'mq'), 0o755)
  const spool = join(template, 'spool')
  const json = (photo: string) => JSON.stringify({photo, url: 'file:///etc/hostname'})
  const s = async (args: string[], input?: string) => {
    const r = await mq(spool, args, {input})
    if (r.code !== 0) throw new Error(`template: mq ${args.join(' ')}: ${r.code} ${r.stderr}`)
    return r.out.trim()
  }
  // jobs: a dead letter, ready messages (JSON, as the jq example wants), one held under $receipt
  await s(['push', 'jobs', json('poison.jpg')])
  await s(['consume', 'jobs', '--max-messages', '1', '--shell', 'exit 100'])
  await s(['push', 'jobs', '--batch'], [1, 2, 3, 4].map((i) => json(`photo-${i}.jpg`)).join('\n'))
  // held briefly: ack and nack examples find it (an ack after the lease, before anyone reclaims,
  // still counts), and a --drain example waits for it and then handles it
  writeFileSync(join(template, 'receipt'), (await s(['pop', 'jobs', '--lease', '2s', '-o', '/dev/null'])).split('\n')[0])
  await s(['push', 'tests', '--batch'], 'test/a.test.js\ntest/b.test.js\n')
  await s(['push', 'uploads', '--batch'], 'one\ntwo\n')
  await s(['push', 'reports', 'weekly'])
  await s(['subscribe', 'orders', 'shipping'])
  // the working directory: a git repository with the fixtures the examples use
  const work = join(template, 'work')
  for (const d of ['dir', 'archive', 'test']) mkdirSync(join(work, d), {recursive: true})
  const script = (p: string, text: string) => {
    mkdirSync(join(p, '..'), {recursive: true})
    writeFileSync(p, `#!/bin/sh\n${text}\n`)
    chmodSync(p, 0o755)
  }
  script(join(work, 'handler.sh'), 'cat > /dev/null')
  script(join(work, 'work'), 'cat > /dev/null')
  script(join(work, 'run-one-test.sh'), 't=$(cat) && test -n "$t"')
  script(join(template, 'opt/jobs/handler'), 'cat > /dev/null')
  script(join(template, 'opt/reports/build'), 'cat > /dev/null')
  writeFileSync(join(work, 'README.md'), '# a project\n')
  writeFileSync(join(work, 'dir/file'), 'data\n')
  writeFileSync(join(work, 'test/a.test.js'), '')
  const git = await run('sh', ['-c', 'git init -q && git add README.md test/a.test.js'], {cwd: work})
  if (git.code !== 0) throw new Error(`git: ${git.stderr}`)
})

afterAll(() => rmSync(template, {force: true, recursive: true}))

/** A sandbox: copies of the template's spool, working directory and /opt; HOME; a log dir. */
function sandbox(): string {
  const box = mkdtempSync(join(tmpdir(), 'mq-example-'))
  for (const d of ['spool', 'work', 'opt']) cpSync(join(template, d), join(box, d), {recursive: true})
  for (const d of ['home', 'log', 'node_exporter/textfile']) mkdirSync(join(box, d), {recursive: true})
  return box
}

interface Ran {
  code: number | null
  out: string
  err: string
  statuses: Array<[number, string]>
  stopped: boolean
}

function runIn(box: string, command: string, args: string[], long: boolean, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const log = join(box, 'mq.log')
    writeFileSync(log, '')
    const child = spawn(command, args, {
      cwd: join(box, 'work'),
      detached: true,
      env: userEnv({HOME: join(box, 'home'), MQ_EXAMPLE_LOG: log, MQ_SPOOL: join(box, 'spool'), MQ_URL: '', PATH: `${shim}:${process.env.PATH}`, receipt: readFileSync(join(template, 'receipt'), 'utf8'), ...env}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let stopped = false
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.stderr.on('data', (c: Buffer) => (err += c))
    // A long-running worker: SIGTERM (a graceful stop) once it has had time to work.
    const stop = setTimeout(
      () => {
        stopped = true
        process.kill(-child.pid!, 'SIGTERM')
      },
      long ? 4000 : 60_000,
    )
    child.on('error', reject)
    child.on('close', async (code) => {
      clearTimeout(stop)
      // Done when the whole group is: a worker whose output went to a file outlives the pipes.
      for (;;) {
        try {
          process.kill(-child.pid!, 0)
        } catch {
          break
        }
        await new Promise((r) => setTimeout(r, 20))
      }
      const statuses = readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [Number(l.split('\t')[0]), l.split('\t')[1]] as [number, string])
      resolve({code, err, out, statuses, stopped})
    })
  })
}

function expectClean(r: Ran, what: string): void {
  const bad = r.statuses.filter(([code]) => !ALLOWED.has(code))
  expect(bad, `${what}: mq exit statuses\n${r.err}`).toEqual([])
  expect(r.err, what).not.toMatch(/^\s+at /m)
  // the workers' lines: every delivery acked
  expect(r.err, what).not.toMatch(/ (retry|dead|lost) attempt \d/)
}

/** Runs a shell step. A worker stopped with SIGTERM must exit 0; a pop --wait dies of it. */
async function runShell(step: Step, box: string, where: string, opts: {env?: NodeJS.ProcessEnv; map?: (s: string) => string; code?: number} = {}): Promise<Ran> {
  const script = (opts.map ?? ((s) => s))(mapPaths(step.script, box))
  const r = await runIn(box, 'bash', ['-c', script], LONG_RUNNING.test(script), opts.env)
  if (r.stopped) r.statuses = r.statuses.filter(([code, args]) => !(code === 143 && !args.startsWith('consume')))
  expectClean(r, where)
  if (!r.stopped) expect(r.code, `${where}\n${r.err}`).toBe(opts.code ?? 0)
  return r
}

const ID = /[0-9a-f]{16}-[0-9a-f]{16}(,[a-z0-9]+)*/g
const mask = (s: string) =>
  s
    .replaceAll(ID, 'ID')
    .replaceAll(/\b\d+(\.\d+)?(ms|s|m|h|d)\b/g, 'AGE')
    .replaceAll(/ +/g, ' ')
    .trimEnd()

/** A session: the page's ids and receipts are mapped to the ones this run made. */
async function runSession(ex: Example, box: string): Promise<void> {
  const real = new Map<string, string>()
  for (const step of ex.steps) {
    const script = step.script.replaceAll(ID, (doc) => real.get(doc) ?? doc)
    const r = await runShell({script}, box, `${ex.where}: ${step.script}`)
    const shown = step.shown!.join('\n')
    const got = r.out.trimEnd()
    // what the page shows, ids and ages aside, is what the command prints
    expect(mask(got), step.script).toBe(mask(shown))
    const docIds = shown.match(ID) ?? []
    const gotIds = got.match(ID) ?? []
    docIds.forEach((d, i) => real.set(d, gotIds[i]))
  }
}

async function runJs(ex: Example, box: string): Promise<void> {
  const file = join(box, 'work', 'example.mjs')
  const code = mapPaths(ex.steps[0].script, box).replace("from 'mq'", `from '${join(ROOT, 'dist', 'index.js')}'`)
  writeFileSync(file, `const work = async (body) => { if (!body.length) throw new Error('empty') }\n${code}\nconsole.log('ok')\n`)
  const r = await runIn(box, process.execPath, [file], false)
  expect(r.code, `${ex.where}\n${r.err}`).toBe(0)
  expect(r.out.trim()).toBe('ok')
}

const documented = [...readmeExamples(), ...manExamples(), ...helpExamples()]
const all = documented.filter((e) => !e.server)
const onServers = documented.filter((e) => e.server)

describe('every example runs as written', () => {
  it('finds the examples of every document', () => {
    const count = (prefix: string) => all.filter((e) => e.where.startsWith(prefix)).length
    expect(count('README')).toBeGreaterThanOrEqual(10)
    expect(count('mq(1)')).toBeGreaterThanOrEqual(8)
    expect(count('mq-spool(5)')).toBe(1)
    expect(all.filter((e) => e.where.includes('--help')).length).toBeGreaterThanOrEqual(40)
    expect(onServers.length).toBeGreaterThanOrEqual(4)
    expect(all.filter((e) => e.gate).length).toBe(1)
  })

  it.concurrent.each(all.map((e) => [e.where, e] as const))('%s', async (_, ex) => {
    const box = sandbox()
    try {
      if (ex.fresh) rmSync(join(box, 'spool'), {force: true, recursive: true})
      if (ex.js) await runJs(ex, box)
      else if (ex.fresh) await runSession(ex, box)
      else for (const step of ex.steps) await runShell(step, box, `${ex.where}: ${step.script}`, {code: ex.gate ? 1 : 0})
    } finally {
      rmSync(box, {force: true, recursive: true})
    }
  })
})

/**
 * The README's server examples, as written, against servers of this file's own: the example's
 * host names are mapped to them, nothing else is changed. cache.internal:6379 is a Redis with
 * the example's password; queue.example.com:6380 a Redis that speaks only TLS (its certificate,
 * made for 127.0.0.1, trusted through NODE_EXTRA_CA_CERTS as a user would); db.internal a
 * PostgreSQL cluster with TLS on, a role "app" (password "secret") and a database "ops";
 * 127.0.0.1:5672/ops the machine's RabbitMQ, in a vhost of this file's own.
 * Each must exit 0 (a worker stopped with SIGTERM too) and print nothing but mq's own words.
 */
describeWithServer('every server example of the README runs as written', redisServerUnavailable() ?? privatePostgresUnavailable() ?? rabbitUnavailable() ?? (hasProgram('openssl') ? undefined : 'no openssl'), () => {
  let certs: string
  let tls: TlsFiles
  let cache: RedisServer
  let queue: RedisServer
  let db: PostgresServer
  let rabbit: RabbitVhost
  let hosts: Array<[RegExp, string]>
  beforeAll(async () => {
    certs = mkdtempSync(join(tmpdir(), 'mq-certs-'))
    chmodSync(certs, 0o755)
    tls = makeTlsFiles(certs)
    cache = await startRedis(['--requirepass', 'secret'])
    queue = await startRedis([], {tls})
    db = await startPostgres({ssl: tls})
    rabbit = await startRabbitVhost()
    await withPostgres(db.url, async (c) => {
      await c.query(`CREATE ROLE app LOGIN PASSWORD 'secret'`)
      await c.query('CREATE DATABASE ops OWNER app')
    })
    const pgPort = new URL(db.url).port
    hosts = [
      [/cache\.internal:6379/g, `127.0.0.1:${cache.port}`],
      [/queue\.example\.com:6380/g, `127.0.0.1:${queue.port}`],
      [/db\.internal(:5432)?\//g, `127.0.0.1:${pgPort}/`],
      [/127\.0\.0\.1:5672\/ops\b/g, `127.0.0.1:5672/${encodeURIComponent(rabbit.name)}`],
    ]
  }, HEAVY_MS)
  afterAll(async () => {
    await cache?.destroy()
    await queue?.destroy()
    db?.destroy()
    await rabbit?.destroy()
    if (certs) rmSync(certs, {force: true, recursive: true})
  })

  it.each(onServers.map((e) => [e.where, e] as const))('%s', async (_, ex) => {
    const box = sandbox()
    try {
      for (const step of ex.steps) {
        const map = (s: string) => hosts.reduce((t, [from, to]) => t.replace(from, to), s)
        expect(hosts.some(([from]) => new RegExp(from.source).test(step.script)), `${ex.where}: a host the test maps`).toBe(true)
        const r = await runShell(step, box, ex.where, {env: {NODE_EXTRA_CA_CERTS: tls.cert}, map})
        // mq's words only: no driver's warning, no durability warning on a run for machines.
        for (const line of r.err.split('\n').filter(Boolean)) expect(line, ex.where).toMatch(/^mq: |^jobs /)
      }
    } finally {
      rmSync(box, {force: true, recursive: true})
    }
  })
})
