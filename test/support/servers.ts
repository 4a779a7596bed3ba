import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {createConnection, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * Private servers for the tests of the server engines. Tests never share state with other
 * programs: Redis runs as a redis-server of their own on a free port; each test gets its own
 * key prefix. Where no server can be had, the tests say why and are skipped, except under
 * CI=true, where a missing server is a failure.
 */

export const IN_CI = process.env.CI === 'true'

/** A free TCP port on 127.0.0.1 (the kernel's pick; the server started on it may still lose a race: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

/** Sends one inline command and resolves with the first reply line, or rejects. */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({host: '127.0.0.1', port})
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error('timeout'))
    }, timeoutMs)
    let got = ''
    sock.on('data', (d) => {
      got += d.toString()
      if (got.includes('\r\n')) {
        clearTimeout(timer)
        sock.destroy()
        resolve(got.split('\r\n')[0])
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    sock.write(command + '\r\n')
  })
}

export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], {stdio: 'ignore'}).status === 0
}

export interface RedisServer {
  port: number
  url: string
  dir: string
  /** Stops it (SIGTERM, then SIGKILL), keeping its directory (for a restart). */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port and directory, with the same or other arguments. */
  start(extra?: string[]): Promise<void>
  /** Stops it and removes its directory. */
  destroy(): Promise<void>
}

/** Why the Redis tests cannot run here, or undefined when they can. */
export function redisUnavailable(): string | undefined {
  if (process.env.MQ_TEST_REDIS_URL) return undefined
  if (hasProgram('redis-server')) return undefined
  return 'no redis-server on PATH (install Debian package redis-server, or set MQ_TEST_REDIS_URL)'
}

/**
 * A redis-server of the tests' own: a free port, its own directory, `--save '' --appendonly no`
 * unless `extra` says otherwise. Resolves once it answers PING.
 */
export async function startRedis(extra: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  let args: string[] = []
  const launch = async (more: string[]) => {
    args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'log'), ...more]
    const c = spawn('redis-server', args, {stdio: 'ignore'})
    child = c
    let exited = false
    c.once('exit', () => {
      exited = true
    })
    for (let i = 0; i < 200; i++) {
      if (exited) throw new Error(`redis-server exited at start (port ${port}); see ${join(dir, 'log')}`)
      try {
        if ((await redisCommand(port, 'PING', 500)) === '+PONG') return
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 25))
    }
    c.kill('SIGKILL')
    throw new Error(`redis-server did not answer on port ${port}`)
  }
  for (let tries = 0; ; tries++) {
    port = await freePort()
    try {
      await launch(extra)
      break
    } catch (error) {
      if (tries >= 3) throw error
    }
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000)
      c.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      c.kill(signal)
    })
  }
  return {
    destroy: async () => {
      await stop('SIGKILL')
      rmSync(dir, {force: true, recursive: true})
    },
    dir,
    port,
    start: (more = extra) => launch(more),
    stop,
    url: `redis://127.0.0.1:${port}/0`,
  }
}

let n = 0
/** A key prefix of its own for one test: stores on one server never see each other. */
export function freshPrefix(): string {
  return `t${process.pid}x${Date.now().toString(36)}x${n++}`
}

/** A URL with a prefix option added (or replaced). */
export function withPrefix(url: string, prefix: string): string {
  const u = new URL(url)
  u.searchParams.set('prefix', prefix)
  return u.toString()
}
