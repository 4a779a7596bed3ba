import {spawn, type SpawnOptions} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach} from 'vitest'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.cjs')
export const FIXTURES = join(ROOT, 'test', 'fixtures')

const made: string[] = []
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, {force: true, recursive: true})
})

/** A fresh directory for one test, removed after it. */
export function tempDir(prefix = 'mq-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  made.push(d)
  return d
}

/** A fresh spool directory for one test, removed after it. */
export function tempSpool(): string {
  return tempDir()
}

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
  out: string
  /** Killed by the timeoutMs option (it hung). */
  timedOut: boolean
}

/**
 * Runs a program to completion; stdin gets `input` (or is closed at once). With timeoutMs, a
 * program still running then is killed (SIGKILL) and reported with timedOut: a hang is a
 * failure the test can name, not a test timeout.
 */
export function run(cmd: string, args: string[], opts: SpawnOptions & {input?: Buffer | string; timeoutMs?: number} = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {...opts, env: userEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    let timedOut = false
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true
          child.kill('SIGKILL')
        }, opts.timeoutMs)
      : undefined
    child.stdout!.on('data', (c: Buffer) => out.push(c))
    child.stderr!.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out)
      resolvePromise({code, out: stdout.toString('utf8'), signal, stderr: Buffer.concat(err).toString('utf8'), stdout, timedOut})
    })
    child.stdin!.on('error', () => {})
    child.stdin!.end(opts.input ?? '')
  })
}

/** The environment a user's shell would give: vitest's own variables (NODE_ENV=test) removed. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', ...extra}
  for (const k of Object.keys(env)) if (k === 'NODE_ENV' || k.startsWith('VITEST') || k === 'TEST') delete env[k]
  return env
}

/** Runs `mq ARGS` as a user would: node bin/run.cjs (or `bin`, another copy's), against the given spool. */
export function mq(
  spool: string,
  args: string[],
  opts: {bin?: string; input?: Buffer | string; env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number} = {},
): Promise<RunResult> {
  return run(process.execPath, [opts.bin ?? BIN, ...args], {env: {MQ_SPOOL: spool, ...opts.env}, gid: opts.gid, input: opts.input, timeoutMs: opts.timeoutMs, uid: opts.uid})
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/**
 * Looks again every `every` ms until `done` holds or `ms` have passed (a deadline, not a count of
 * looks: a loaded machine makes each look slower); the last value either way, for the test's
 * own assertion. For what happens on another party's time: a broker moving a due message, a
 * worker starting its handlers.
 */
export async function eventually<T>(look: () => Promise<T> | T, done: (v: T) => boolean, {every = 100, ms = 20_000} = {}): Promise<T> {
  const until = Date.now() + ms
  let v = await look()
  while (!done(v) && Date.now() < until) {
    await sleep(every)
    v = await look()
  }
  return v
}

/** Names of the regular files anywhere under dir (cur/'s buckets, new/'s...), sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    let entries
    try {
      entries = readdirSync(d, {withFileTypes: true})
    } catch {
      return
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name))
      else out.push(e.name)
    }
  }
  walk(dir)
  return out.sort()
}

/**
 * The watchdog of a test that runs a hundred processes or more (crash tortures, a server's
 * crash and restart): three times the default, so that a machine whose other core is busy still
 * finishes them. A timeout only stops a hung test; nothing asserts how long a test took.
 */
export const HEAVY_MS = 180_000
