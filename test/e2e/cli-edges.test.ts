import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {BIN, HEAVY_MS, mq, run, type RunResult, sleep, tempSpool, userEnv} from '../support/helpers.js'

/**
 * The command line at its edges (issue 11), each case as a user meets it: spawned processes,
 * real pipes, a real terminal (script(1)) where a terminal matters.
 */

/** A directory with an `mq` on it that runs this checkout's bin/run.cjs. */
function mqOnPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mq-path-'))
  writeFileSync(join(dir, 'mq'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(dir, 'mq'), 0o755)
  return dir
}
const PATH_DIR = mqOnPath()

/** Runs a bash script with `mq` on PATH, against the spool, in a directory of its own (or cwd). */
function sh(spool: string, script: string, env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<RunResult> {
  cwd ??= mkdtempSync(join(tmpdir(), 'mq-sh-'))
  return run('bash', ['-c', script], {cwd, env: {MQ_SPOOL: spool, PATH: `${PATH_DIR}:${process.env.PATH}`, ...env}, timeoutMs: 60_000})
}

/**
 * Runs a pipeline in which one stage sends its stderr to the file "err" (`mq pop q 2>err | ...`):
 * that stage's exit status (stage counts from 0), and what it said.
 */
async function pipeline(spool: string, line: string, stage = 0): Promise<{status: number; stderr: string}> {
  const r = await sh(spool, `${line}; echo "\${PIPESTATUS[${stage}]}"; cat err >&2`)
  return {status: Number(r.out.trim()), stderr: r.stderr}
}

/** Runs a shell line on a terminal (script(1)), 80 columns; returns what the terminal showed. */
function onTerminal(spool: string, line: string, opts: {input?: string; env?: NodeJS.ProcessEnv} = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `stty cols 80 rows 24; ${line}`, '/dev/null'], {
      env: userEnv({CI: '', MQ_SPOOL: spool, TERM: 'xterm-256color', PATH: `${PATH_DIR}:${process.env.PATH}`, ...opts.env}),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => out.push(c))
    child.on('error', reject)
    // The answer to a prompt: typed once the prompt is up.
    if (opts.input !== undefined) setTimeout(() => child.stdin.write(opts.input), 1500)
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out)
      resolve({code, out: stdout.toString('utf8'), signal, stderr: '', stdout, timedOut: false})
    })
  })
}

/** Everything a command said on stderr is one line, and no stack trace. */
function oneCleanLine(stderr: string): void {
  expect(stderr.trim().split('\n'), stderr).toHaveLength(1)
  expect(stderr).not.toMatch(/^\s+at /m)
  expect(stderr).toMatch(/^mq: /)
}

async function stats(spool: string, queue: string) {
  const r = await mq(spool, ['stats', queue, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.out) as {ready: number; inflight: number; delayed: number; done: number; dead: number}
}

const BIG = 'x'.repeat(1 << 20) // 1 MiB: far more than a pipe holds

describe('broken pipes: a documented status, nothing held for a lease, no stack trace', () => {
  it.each([
    ['head -c 10 >/dev/null', 'a reader that stops early'],
    ['{ IFS= read -r r; }', 'a reader that takes the receipt and settles nothing'],
  ])('mq pop q | %s (%s): exit 74, the message given back at once with its delivery uncounted', async (reader) => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '-'], {input: BIG})
    const r = await pipeline(spool, `mq pop q 2>err | ${reader}`)
    expect(r.status).toBe(74)
    oneCleanLine(r.stderr)
    expect(r.stderr).toContain('given back')
    expect(await stats(spool, 'q')).toMatchObject({inflight: 0, ready: 1})
    const again = await mq(spool, ['pop', 'q', '--json'])
    expect(JSON.parse(again.out).attempt).toBe(1) // the broken hand-over did not count
  })

  it('seq 5000 | mq push q --batch | head -1: exit 74 in one line; what was committed stays', async () => {
    const spool = tempSpool()
    const r = await pipeline(spool, 'seq 5000 | mq push q --batch 2>err | head -1 >/dev/null', 1)
    expect(r.status).toBe(74)
    oneCleanLine(r.stderr)
    const s = await stats(spool, 'q')
    expect(s.ready).toBeGreaterThan(0)
    expect(s.ready % 1000).toBe(0) // whole groups, never half of one
  })

  it('mq pop q | { read -r r; mq ack q "$r"; } with a body nobody reads: acked, and pop exits 0', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '-'], {input: BIG})
    const r = await sh(spool, 'mq pop q | { IFS= read -r r || exit 9; mq ack q "$r"; }; echo "${PIPESTATUS[@]}"')
    expect(r.out.trim()).toBe('0 0')
    expect(r.stderr).toBe('')
    expect(await stats(spool, 'q')).toMatchObject({done: 1, inflight: 0, ready: 0})
  })


  it('mq pop q -o /dev/full: 74, the message given back', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'body'])
    const r = await mq(spool, ['pop', 'q', '-o', '/dev/full'])
    expect(r.code).toBe(74)
    oneCleanLine(r.stderr)
    expect(r.stderr).toContain('no space left on device')
    expect(await stats(spool, 'q')).toMatchObject({inflight: 0, ready: 1})
  })

  it('mq consume c --once --exec true 2>&1 >/dev/null | head -1: no crash, nothing left claimed', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'c', '--batch'], {input: 'a\nb\nc\n'})
    const r = await sh(spool, 'mq consume c --once --exec true 2>&1 >/dev/null | head -1; echo "status ${PIPESTATUS[0]}"')
    expect(r.out).toMatch(/status 0\n$/)
    expect(r.out).not.toMatch(/^\s+at /m)
    expect(await stats(spool, 'c')).toMatchObject({done: 3, inflight: 0, ready: 0})
  })

  it('mq consume c --json | head -1: stops as on SIGTERM, exit 74, nothing left claimed', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'c', '--batch'], {input: Array.from({length: 50}, (_, i) => `m${i}`).join('\n')})
    const r = await pipeline(spool, 'mq consume c --json --exec true 2>err | head -1 >/dev/null')
    expect(r.status).toBe(74)
    // a notice that it stops, then the error; no stack trace
    expect(JSON.parse(r.stderr.trim().split('\n').at(-1)!)).toMatchObject({error: {code: 'output_closed', exitCode: 74}})
    expect(r.stderr).not.toMatch(/^\s+at /m)
    const s = await stats(spool, 'c')
    expect(s.inflight).toBe(0)
    expect(s.done + s.ready).toBe(50)
  })
})

describe('usage errors are 64, in one line, on either path', () => {
  it.each([
    [['push', 'q', '-p', '3', '-p', '4', 'x'], {MQ_NO_FAST: '1'}, /--priority was given twice/],
    [['pop', 'q', '-o'], {}, /--output needs a value/],
    [['pop', 'q', '-o'], {MQ_NO_FAST: '1'}, /--output needs a value/],
    [['help', 'nosuch'], {}, /unknown command "nosuch"/],
    [['consume', 'q', '--exec', 'sh -c "unterminated'], {}, /quote/],
    [['consume', 'a', 'b', '--exec', 'cat'], {}, /unexpected argument "b"/],
    [['stats', '--textfile', 'x.prom'], {}, /--prometheus/],
    [['push', 'q', '--priorty', '3', 'x'], {}, /did you mean --priority/],
    [['pusj', 'q', 'x'], {}, /did you mean "mq push"/],
    [['push', 'q', '--delay', '5m30', 'x'], {}, /not a duration/],
  ])('%j %j', async (args, env, message) => {
    const spool = tempSpool()
    const r = await mq(spool, args, {env})
    expect(r.code).toBe(64)
    oneCleanLine(r.stderr)
    expect(r.stderr).toMatch(message)
    expect(r.out).toBe('')
    expect(readdirSync(spool)).toEqual([]) // nothing was made
  })

  it('mq help nosuch --json: 64, the error as JSON on stderr', async () => {
    const r = await mq(tempSpool(), ['help', 'nosuch', '--json'])
    expect(r.code).toBe(64)
    expect(JSON.parse(r.stderr)).toMatchObject({error: {code: 'usage', exitCode: 64}})
  })

  it('consume a b --exec cat does not run cat b: nothing is claimed', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'a', 'x'])
    expect((await mq(spool, ['consume', 'a', 'b', '--exec', 'cat', '--once'])).code).toBe(64)
    expect(await stats(spool, 'a')).toMatchObject({ready: 1})
  })
})

describe('a wrong spool or URL is a configuration error (78) that creates nothing', () => {
  it.each([[['stats']], [['pop', 'q']], [['gc', '--force']], [['push', 'q', 'x']], [['queues']]])('%j on a regular file', async (args) => {
    const dir = tempSpool()
    const file = join(dir, 'passwd')
    writeFileSync(file, 'root:x:0:0::/root:/bin/sh\n')
    const r = await mq(file, args)
    expect(r.code).toBe(78)
    oneCleanLine(r.stderr)
    expect(r.out).toBe('')
    expect(readFileSync(file, 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n')
  })

  it.each([['file://relative/path'], ['file:relative'], ['file:']])('MQ_URL=%s', async (url) => {
    const cwd = tempSpool()
    const r = await run(process.execPath, [BIN, 'push', 'q', 'x'], {cwd, env: {MQ_SPOOL: '', MQ_URL: url}})
    expect(r.code).toBe(78)
    oneCleanLine(r.stderr)
    expect(readdirSync(cwd)).toEqual([])
    expect(existsSync('/relative')).toBe(false)
    expect(existsSync('/path')).toBe(false)
  })
})

describe('a mistyped queue name is an error, not an empty queue', () => {
  it.each([
    [['purge', 'nosuch', '--force']],
    [['requeue', 'nosuch']],
    [['gc', 'nosuch', '--force']],
    [['pause', 'nosuch']],
    [['resume', 'nosuch']],
    [['stats', 'nosuch']],
    [['stats', 'nosuch', '--json']],
    [['peek', 'nosuch']],
    [['config', 'nosuch']],
    [['unsubscribe', 'nosuch', 'q']],
  ])('%j: 66, nothing created', async (args) => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'])
    const r = await mq(spool, args)
    expect(r.code).toBe(66)
    expect(r.out).toBe('')
    if (args.includes('--json')) expect(JSON.parse(r.stderr).error.exitCode).toBe(66)
    else oneCleanLine(r.stderr)
    expect(readdirSync(spool).filter((n) => !n.startsWith('.'))).toEqual(['q'])
  })

  it("a producer's first push and a consumer's pop on a queue not yet made are fine", async () => {
    const spool = tempSpool()
    expect((await mq(spool, ['pop', 'later'])).code).toBe(3)
    expect((await mq(spool, ['consume', 'later', '--once', '--exec', 'true'])).code).toBe(0)
    expect((await mq(spool, ['push', 'fresh', 'x'])).code).toBe(0)
  })

  it('mq config QUEUE with a setting makes the queue (set up before the first push)', async () => {
    const spool = tempSpool()
    expect((await mq(spool, ['config', 'new', '--max-attempts', '3'])).code).toBe(0)
    const r = await mq(spool, ['config', 'new', '--json'])
    expect(JSON.parse(r.out)).toMatchObject({maxAttempts: 3, maxDepth: null})
  })

  it('requeue of an id that is not a dead letter: 66, and the dead ones given are still requeued', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'poison'])
    await mq(spool, ['consume', 'q', '--once', '--shell', 'exit 100'])
    const [dead] = JSON.parse((await mq(spool, ['peek', 'q', '--state', 'dead', '--json'])).out)
    const alive = (await mq(spool, ['push', 'q', 'alive'])).out.trim()
    const r = await mq(spool, ['requeue', 'q', dead.id, alive])
    expect(r.code).toBe(66)
    expect(r.out.trim()).toBe(dead.id)
    oneCleanLine(r.stderr)
    expect(r.stderr).toContain(alive)
    const j = await mq(spool, ['requeue', 'q', alive, '--json'])
    expect(j.code).toBe(66)
    expect(JSON.parse(j.out)).toEqual({expiryCleared: [], notDead: [alive], queue: 'q', requeued: []})
  })

  it('requeue of an expired message says that it clears the expiry, and the message is delivered', async () => {
    const spool = tempSpool()
    const id = (await mq(spool, ['push', 'q', '--ttl', '100ms', 'late'])).out.trim()
    await sleep(300)
    expect((await mq(spool, ['pop', 'q'])).code).toBe(3) // expired: dead-lettered
    const r = await mq(spool, ['requeue', 'q'])
    expect(r.code).toBe(0)
    expect(r.out.trim()).toBe(id)
    expect(r.stderr).toMatch(/had expired.*without an expiry/)
    const popped = await mq(spool, ['pop', 'q', '--json'])
    expect(JSON.parse(popped.out)).toMatchObject({body: 'late', id})
    expect(JSON.parse(popped.out).expiresAt).toBeUndefined()
  })
})

describe('consume --drain: a CI gate that cannot pass on unfinished work', () => {
  it('waits for a delayed retry to come due and be handled, then exits 0 with nothing left', async () => {
    const spool = tempSpool()
    const marks = mkdtempSync(join(tmpdir(), 'mq-marks-'))
    await mq(spool, ['push', 'q', '--batch'], {input: 'a\nb\n'})
    // Each message fails its first delivery (temporary failure), succeeds on the second.
    const r = await mq(spool, ['consume', 'q', '--drain', '--backoff', '300ms', '--shell', `test "$MQ_ATTEMPT" -ge 2 || exit 75`], {env: {MARKS: marks}})
    expect(r.code, r.stderr).toBe(0)
    expect(await stats(spool, 'q')).toMatchObject({dead: 0, delayed: 0, done: 2, inflight: 0, ready: 0})
  })

  it("waits for a message another consumer holds, and handles it if that consumer's lease runs out", async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'held'])
    expect((await mq(spool, ['pop', 'q', '--lease', '1s'])).code).toBe(0) // held, never acked
    const r = await mq(spool, ['consume', 'q', '--drain', '--exec', 'true'])
    expect(r.code, r.stderr).toBe(0)
    expect(await stats(spool, 'q')).toMatchObject({done: 1, inflight: 0, ready: 0})
  })

  it('does not exit while another consumer holds a message; exits once it is acked', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'held'])
    const receipt = (await mq(spool, ['pop', 'q', '--lease', '1m'])).out.split('\n')[0]
    let exited = false
    const drain = mq(spool, ['consume', 'q', '--drain', '--exec', 'true'], {timeoutMs: 30_000}).then((r) => {
      exited = true
      return r
    })
    await sleep(1500)
    expect(exited).toBe(false) // a message is in flight: the queue is not drained
    expect((await mq(spool, ['ack', 'q', receipt])).code).toBe(0)
    const r = await drain
    expect(r.timedOut).toBe(false)
    expect(r.code).toBe(0)
  })

  it('exits 65 when a message it handled ended in the dead letters', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '--batch'], {input: 'good\nbad\n'})
    const r = await mq(spool, ['consume', 'q', '--drain', '--shell', 'read -r l; test "$l" = good || exit 100'])
    expect(r.code).toBe(65)
    expect(await stats(spool, 'q')).toMatchObject({dead: 1, done: 1, inflight: 0, ready: 0})
  })
})

describe('what users of nq, pueue and BullMQ expect', () => {
  it('--version and version; --json too', async () => {
    const spool = tempSpool()
    const pkg = JSON.parse(readFileSync(join(BIN, '..', '..', 'package.json'), 'utf8'))
    expect((await mq(spool, ['--version'])).out).toContain(pkg.version)
    expect((await mq(spool, ['version'])).out).toContain(pkg.version)
    expect(JSON.parse((await mq(spool, ['version', '--json'])).out)).toMatchObject({version: pkg.version})
  })

  it('bash completion, installed as the README says, completes commands, flags, their values and queue names', async () => {
    const home = tempSpool()
    const spool = tempSpool()
    const other = tempSpool()
    await mq(spool, ['push', 'alpha', 'x'])
    await mq(spool, ['push', 'beta', 'x'])
    await mq(other, ['push', 'gamma', 'x'])
    const env = {HOME: home, XDG_CACHE_HOME: ''}
    const setup = await sh(spool, 'mkdir -p ~/.local/share/bash-completion/completions && mq autocomplete bash > ~/.local/share/bash-completion/completions/mq', env)
    expect(setup.code, setup.stderr).toBe(0)
    const complete = (words: string) => `COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _mq; echo "[\${COMPREPLY[*]}]"`
    const r = await sh(
      spool,
      [
        'source ~/.local/share/bash-completion/completions/mq',
        complete('mq pu'),
        complete('mq consume --dr'),
        complete("mq pop ''"),
        complete('mq push al'),
        complete(`mq --spool '${other}' stats ''`),
        complete("mq peek alpha --state ''"),
        complete("mq subscribe events ''"),
      ].join('\n'),
      env,
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.out.trim().split('\n')).toEqual(['[purge push]', '[--drain]', '[alpha beta]', '[alpha]', '[gamma]', '[ready delayed inflight dead done]', '[alpha beta]'])
    // zsh: oclif's plugin (commands and flags).
    expect((await sh(home, 'mq autocomplete zsh', env)).code).toBe(0)
  })

  it('fish completion is generated from the grammar: every command, its flags, queue names', async () => {
    const r = await mq(tempSpool(), ['autocomplete', 'fish'])
    expect(r.code).toBe(0)
    for (const line of r.out.trim().split('\n')) expect(line).toMatch(/^(#|complete -c mq |function __mq_queues;)/)
    expect(r.out).toContain("-a push -d 'Durably enqueue")
    expect(r.out).toMatch(/__fish_seen_subcommand_from consume' -l drain/)
    expect(r.out).toMatch(/__fish_seen_subcommand_from push' -l priority -s p -r/)
    expect(r.out).toContain("-a '(__mq_queues)'")
  })

  it('topics are visible: mq topics, and mq queues marks them under a header', async () => {
    const spool = tempSpool()
    await mq(spool, ['subscribe', 'orders', 'shipping'])
    await mq(spool, ['subscribe', 'orders', 'billing'])
    const t = await mq(spool, ['topics'])
    expect(t.out.split('\n')[0]).toMatch(/^TOPIC\s+SUBSCRIBERS$/)
    expect(t.out).toMatch(/^orders\s+billing shipping$/m)
    expect(JSON.parse((await mq(spool, ['topics', '--json'])).out)).toEqual([{subscribers: ['billing', 'shipping'], topic: 'orders'}])
    const q = await mq(spool, ['queues'])
    expect(q.out.split('\n')[0]).toMatch(/^NAME\s+KIND\s+READY\s+INFLIGHT/)
    expect(q.out).toMatch(/^orders\s+topic\b/m)
    expect(q.out).toMatch(/^billing\s+queue\b/m)
    const j = JSON.parse((await mq(spool, ['queues', '--json'])).out)
    expect(j).toContainEqual({kind: 'topic', subscribers: ['billing', 'shipping'], topic: 'orders'})
    expect(j).toContainEqual(expect.objectContaining({kind: 'queue', queue: 'billing', ready: 0}))
  })

  it('a topic cannot subscribe to itself, nor be a subscriber', async () => {
    const spool = tempSpool()
    await mq(spool, ['subscribe', 'orders', 'shipping'])
    for (const args of [['subscribe', 'orders', 'orders'], ['subscribe', 'all', 'orders'], ['subscribe', 'new', 'new']]) {
      const r = await mq(spool, args)
      expect(r.code, args.join(' ')).toBe(64)
      oneCleanLine(r.stderr)
    }
    expect(JSON.parse((await mq(spool, ['topics', '--json'])).out)).toEqual([{subscribers: ['shipping'], topic: 'orders'}])
  })

  it('stats --prometheus --textfile replaces the file atomically: a reader never sees half of one', async () => {
    const spool = tempSpool()
    for (let i = 0; i < 20; i++) await mq(spool, ['push', `q${i}`, 'x'])
    const dir = mkdtempSync(join(tmpdir(), 'mq-prom-'))
    const file = join(dir, 'mq.prom')
    const first = await mq(spool, ['stats', '--prometheus', '--textfile', file])
    expect(first.code).toBe(0)
    expect(first.out).toBe('')
    const whole = readFileSync(file, 'utf8')
    expect(whole).toContain('mq_messages{queue="q19",state="ready"} 1')
    // Writers in a loop, a reader polling: every read is a whole file.
    const writers = sh(spool, `for i in 1 2 3 4 5 6 7 8; do mq stats --prometheus --textfile '${file}' || exit 1; done`)
    let reads = 0
    let done = false
    void writers.then(() => (done = true))
    const lines = whole.split('\n').length
    while (!done) {
      const text = readFileSync(file, 'utf8')
      expect(text.split('\n').length).toBe(lines)
      expect(text.endsWith('\n')).toBe(true)
      reads++
      await sleep(2)
    }
    expect((await writers).code).toBe(0)
    expect(reads).toBeGreaterThan(0)
    expect(readdirSync(dir)).toEqual(['mq.prom']) // no temp file left behind
  })

  it('a duplicate-key push says why on stderr (not under --json), and exits 4', async () => {
    const spool = tempSpool()
    const first = (await mq(spool, ['push', 'q', '-k', 'K', 'one'])).out.trim()
    const r = await mq(spool, ['push', 'q', '-k', 'K', 'two'])
    expect(r.code).toBe(4)
    expect(r.out.trim()).toBe(first)
    oneCleanLine(r.stderr)
    expect(r.stderr).toContain('"K"')
    const j = await mq(spool, ['push', 'q', '-k', 'K', 'two', '--json'])
    expect(j.code).toBe(4)
    expect(j.stderr).toBe('')
    expect(JSON.parse(j.out)).toEqual({duplicate: true, id: first, key: 'K', queue: 'q'})
  })

  it('durations: compound ones are accepted, and messages print them as typed', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'])
    const before = Date.now()
    const p = JSON.parse((await mq(spool, ['pop', 'q', '--lease', '5m30s', '--json'])).out)
    const lease = Date.parse(p.leaseUntil) - before
    expect(lease).toBeGreaterThan(329_000)
    expect(lease).toBeLessThan(331_000 + 60_000)
    expect((await mq(spool, ['push', 'q', '--delay', '1h30m', 'later'])).code).toBe(0)
    const [d] = JSON.parse((await mq(spool, ['peek', 'q', '--state', 'delayed', '--json'])).out)
    expect(Date.parse(d.notBefore) - before).toBeGreaterThan(5_399_000)
    // a handler that outlives --timeout: the line says "1s", as typed
    await mq(spool, ['push', 'slow', 'x'])
    const r = await mq(spool, ['consume', 'slow', '--once', '--timeout', '1s', '--kill-after', '1s', '--exec', 'sleep 30'])
    expect(r.stderr).toMatch(/timed out after 1s\b/)
    expect(r.stderr).not.toMatch(/1000ms/)
  })

  it('config --json always has maxDepth (null when unset); JSON times are ISO 8601 everywhere', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '--ttl', '1h', '-k', 'k1', 'x'])
    expect(JSON.parse((await mq(spool, ['config', 'q', '--json'])).out)).toEqual({leaseMs: 300_000, maxAttempts: 5, maxDepth: null, queue: 'q'})
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
    const timesIn = (o: Record<string, unknown>) => Object.entries(o).filter(([k]) => /At$|Until$|^notBefore$/.test(k))
    const [peeked] = JSON.parse((await mq(spool, ['peek', 'q', '--json'])).out)
    const popped = JSON.parse((await mq(spool, ['pop', 'q', '--json'])).out)
    for (const o of [peeked, popped]) {
      expect(timesIn(o).length).toBeGreaterThanOrEqual(2)
      for (const [k, v] of timesIn(o)) expect(v, k).toMatch(iso)
    }
  })
})

describe('on a terminal', () => {
  it("consume's status line is cleared before handlers' output, which comes in whole lines, never glued onto it", async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '--batch'], {input: 'a\nb\n'})
    const handler = `printf 'part one ' >&2; sleep 0.3; echo 'and two' >&2; echo out-line`
    const r = await onTerminal(spool, `mq consume q --drain --shell "${handler}"`)
    const ERASE = '\u001B[0K' // what the status line's clear ends with
    expect(r.out.split('part one and two').length - 1).toBe(2) // each handler's line whole
    expect(r.out.split(`${ERASE}part one and two\r\n`).length - 1).toBe(2) // on a cleared line
    expect(r.out.split(`${ERASE}out-line\r\n`).length - 1).toBe(2)
    expect(r.out).not.toMatch(/(waiting|running)(part one|out-line)/)
    expect(await stats(spool, 'q')).toMatchObject({done: 2})
  })

  it('purge asks with the number it will delete; "n" deletes nothing', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '--batch'], {input: 'a\nb\nc\n'})
    const r = await onTerminal(spool, 'mq purge q; echo "status $?"', {input: 'n\n'})
    expect(r.out).toContain('Delete 3 messages (3 ready) of q?')
    expect(r.out).toMatch(/status 64/)
    expect(await stats(spool, 'q')).toMatchObject({ready: 3})
  })

  it('long purge and push --batch show a count that moves, and NO_COLOR leaves no colour', async () => {
    const spool = tempSpool()
    const lines = join(spool, '..', `${spool.split('/').pop()}-lines`)
    mkdirSync(spool, {recursive: true})
    writeFileSync(lines, Array.from({length: 20_000}, (_, i) => `line ${i}`).join('\n') + '\n')
    const push = await onTerminal(spool, `mq push big --batch < '${lines}' > /dev/null`)
    const pushed = [...push.out.matchAll(/big: (\d+) pushed/g)].map((m) => Number(m[1]))
    expect(pushed.length).toBeGreaterThan(2)
    expect(new Set(pushed).size).toBeGreaterThan(2)
    expect(push.out).toContain('mq: big: 20000 pushed')
    expect(push.out).not.toMatch(/\u001B\[3\dm/) // NO_COLOR (set by the helpers)
    const purge = await onTerminal(spool, 'mq purge big --force')
    const purged = [...purge.out.matchAll(/(\d+) of 20000 deleted/g)].map((m) => Number(m[1]))
    expect(new Set(purged).size).toBeGreaterThan(2)
    expect(purge.out).not.toMatch(/\u001B\[3\dm/)
    expect(await stats(spool, 'big')).toMatchObject({ready: 0})
    // Without NO_COLOR the same terminal gets colour (so the checks above can fail).
    await mq(spool, ['push', 'c', 'x'])
    const coloured = await onTerminal(spool, 'mq consume c --once --exec true', {env: {NO_COLOR: ''}})
    expect(coloured.out).toMatch(/\u001B\[3\dm/)
    await mq(spool, ['push', 'c', 'x'])
    const plain = await onTerminal(spool, 'mq consume c --once --exec true')
    expect(plain.out).toMatch(/ ack attempt 1/)
    expect(plain.out).not.toMatch(/\u001B\[3\dm/)
  }, HEAVY_MS)
})

describe('one table of exit statuses', () => {
  it('src/exit-codes.ts, man/mq.1 and the README list the same statuses', async () => {
    const {EXIT} = await import('../../src/exit-codes.js')
    const root = join(BIN, '..', '..')
    const man = readFileSync(join(root, 'man', 'mq.1'), 'utf8')
    const manCodes = [...man.slice(man.indexOf('.SH EXIT STATUS'), man.indexOf('.SH HANDLER')).matchAll(/^(\d+)\t/gm)].map((m) => Number(m[1]))
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const table = readme.slice(readme.indexOf('### Exit statuses'), readme.indexOf('## Engines'))
    const readmeCodes = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]))
    const codes = Object.values(EXIT).sort((a, b) => a - b)
    expect(manCodes).toEqual(codes)
    // The README leaves out 1 (never used on purpose; said in a sentence below the table).
    expect(readmeCodes).toEqual(codes.filter((c) => c !== 1))
    expect(table).toContain('Status 1 is never used')
  })
})
