import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {connect as tlsConnect} from 'node:tls'
import {join} from 'node:path'
import type pg from 'pg'
import {afterAll, beforeAll, describe} from 'vitest'

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

/** Sends one inline command and resolves with the first reply line, or rejects (over TLS, not verified, with tls). */
export function redisCommand(port: number, command: string, timeoutMs = 1000, tls = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls ? tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false}) : createConnection({host: '127.0.0.1', port})
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

/**
 * The environment of a server the tests start: without faketime's (a test run under faketime,
 * to see it hold a year from now, moves its own clock, not its servers').
 */
export function serverEnv(): NodeJS.ProcessEnv {
  const env = {...process.env}
  for (const k of Object.keys(env)) if (k === 'LD_PRELOAD' || k.startsWith('FAKETIME')) delete env[k]
  return env
}

export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], {stdio: 'ignore'}).status === 0
}

/** A self-signed certificate for 127.0.0.1 and localhost (its own CA), and its key, as files. */
export interface TlsFiles {
  cert: string
  key: string
}

/** Makes TlsFiles in dir with openssl (readable by all: a server running as another user reads them). */
export function makeTlsFiles(dir: string): TlsFiles {
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`)
  chmodSync(cert, 0o644)
  chmodSync(key, 0o644)
  return {cert, key}
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

/** Why no redis-server of the tests' own can be started here, or undefined. */
export function redisServerUnavailable(): string | undefined {
  return hasProgram('redis-server') ? undefined : 'no redis-server on PATH (install Debian package redis-server)'
}

/** Why the Redis behaviour suite cannot run here (no MQ_TEST_REDIS_URL, no redis-server), or undefined. */
export function redisUnavailable(): string | undefined {
  if (process.env.MQ_TEST_REDIS_URL) return undefined
  const why = redisServerUnavailable()
  return why && `${why}, and MQ_TEST_REDIS_URL is not set`
}

/**
 * A describe block for tests that need a server: where `why` says it cannot be had, the block
 * is skipped and says why on one line, except under CI=true, where it fails instead.
 */
export function describeWithServer(title: string, why: string | undefined, body: () => void): void {
  if (why && !IN_CI) process.stderr.write(`${title}: skipped: ${why}\n`)
  describe.skipIf(Boolean(why) && !IN_CI)(why ? `${title} (skipped: ${why})` : title, () => {
    beforeAll(() => {
      if (why) throw new Error(`CI=true and the ${title} tests cannot run: ${why}`)
    })
    body()
  })
}

/**
 * Runs fn with the port of a server that accepts connections and never answers (a hung
 * server, a firewall that swallows packets after the handshake).
 */
export async function withMuteServer<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const sockets: Socket[] = []
  const mute: Server = createServer((s) => sockets.push(s))
  const port = await new Promise<number>((r) => mute.listen(0, '127.0.0.1', () => r((mute.address() as {port: number}).port)))
  try {
    return await fn(port)
  } finally {
    for (const s of sockets) s.destroy()
    mute.close()
  }
}

/**
 * A redis-server of the tests' own: a free port, its own directory, `--save '' --appendonly no`
 * unless `extra` says otherwise. Resolves once it answers PING.
 */
export async function startRedis(extra: string[] = [], opts: {tls?: TlsFiles} = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  let args: string[] = []
  const launch = async (more: string[]) => {
    const listen = opts.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.cert, '--tls-auth-clients', 'no']
      : ['--port', String(port)]
    args = [...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'log'), ...more]
    const c = spawn('redis-server', args, {env: serverEnv(), stdio: 'ignore'})
    child = c
    let exited = false
    c.once('exit', () => {
      exited = true
    })
    for (let i = 0; i < 200; i++) {
      if (exited) throw new Error(`redis-server exited at start (port ${port}); see ${join(dir, 'log')}`)
      try {
        // Up: it answers (a server with a password answers NOAUTH).
        if (/^(\+PONG|-NOAUTH)/.test(await redisCommand(port, 'PING', 500, Boolean(opts.tls)))) return
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

/** A Redis Cluster of the tests' own: its masters, and the seed URL mq connects by. */
export interface RedisCluster {
  url: string
  nodes: RedisServer[]
  destroy(): Promise<void>
}

/** Why no Redis Cluster of the tests' own can be made here (redis-server and redis-cli), or undefined. */
export function redisClusterUnavailable(): string | undefined {
  return redisServerUnavailable() ?? (hasProgram('redis-cli') ? undefined : 'no redis-cli on PATH (Debian package redis-tools)')
}

/**
 * Three masters on free ports (`--cluster-enabled yes`), the 16384 slots split among them by
 * `redis-cli --cluster create`, with `replicas` replicas each (a failover promotes one when its
 * master stops answering for a second); resolves once every node says cluster_state:ok. The
 * URL names the first as the seed, with cluster=1.
 */
export async function startRedisCluster(opts: {replicas?: number} = {}): Promise<RedisCluster> {
  const nodes: RedisServer[] = []
  const replicas = opts.replicas ?? 0
  try {
    // nodes.conf lives in each node's own directory (--dir), removed with it.
    // A replica syncs at once (no 5 s wait for others to batch with): a failover needs it synced.
    const flags = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000', '--repl-diskless-sync-delay', '0']
    for (let i = 0; i < 3 * (1 + replicas); i++) nodes.push(await startRedis(flags))
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {encoding: 'utf8', env: serverEnv(), timeout: 30_000})
    if (create.status !== 0) throw new Error(`redis-cli --cluster create: ${create.stdout} ${create.stderr}`)
    // Up: every node says ok, and every replica has synced with its master (a replica that
    // never synced is never promoted).
    const synced = (port: number) => {
      const info = spawnSync('redis-cli', ['-p', String(port), 'info', 'replication'], {encoding: 'utf8', env: serverEnv(), timeout: 5000}).stdout ?? ''
      return !/role:slave/.test(info) || /master_link_status:up/.test(info)
    }
    for (let i = 0; ; i++) {
      if (nodes.every((n) => clusterState(n.port) === 'ok' && synced(n.port))) break
      if (i === 400) throw new Error('the cluster did not reach cluster_state:ok with its replicas synced')
      await new Promise((r) => setTimeout(r, 50))
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.destroy()))
    throw error
  }
  return {
    destroy: async () => {
      await Promise.all(nodes.map((n) => n.destroy()))
    },
    nodes,
    url: `redis://127.0.0.1:${nodes[0].port}/0?cluster=1`,
  }
}

export function clusterState(port: number): string {
  const r = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], {encoding: 'utf8', env: serverEnv(), timeout: 5000})
  return /cluster_state:(\w+)/.exec(r.stdout ?? '')?.[1] ?? ''
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

/** The PostgreSQL server the tests use (MQ_TEST_POSTGRES_URL), or why there is none. */
export function postgresUnavailable(): string | undefined {
  if (process.env.MQ_TEST_POSTGRES_URL) return undefined
  return 'MQ_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)'
}

/** A schema name of its own, for one test; remembered so that the file can drop them all. */
export function freshSchema(made: string[]): string {
  const s = `t${process.pid}_${Date.now().toString(36)}_${n++}`
  made.push(s)
  return s
}

/** A URL with schema= set. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url)
  u.searchParams.set('schema', schema)
  return u.toString()
}

/** `use` with a client of its own on the server at url (a test's look at, or change to, the database), closed after. */
export async function withPostgres<T>(url: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const {default: pgm} = await import('pg')
  const c = new pgm.Client({connectionString: url})
  await c.connect()
  try {
    return await use(c)
  } finally {
    await c.end()
  }
}

/** Drops the schemas a test file made (CASCADE: their tables and functions). */
export async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  if (schemas.length === 0) return
  await withPostgres(url, async (c) => {
    for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
  })
}

export interface PostgresServer {
  url: string
  /** Stops it: mode immediate is a crash (no checkpoint; recovery replays the WAL at start). */
  stop(mode?: 'fast' | 'immediate'): void
  start(): void
  destroy(): void
}

/** Why a private PostgreSQL cluster cannot be made here, or undefined. */
export function privatePostgresUnavailable(): string | undefined {
  if (!pgBin('initdb')) return 'no initdb (install Debian package postgresql)'
  if (process.getuid?.() === 0 && spawnSync('id', ['postgres'], {stdio: 'ignore'}).status !== 0) return 'running as root without a postgres user for initdb'
  return undefined
}

function pgBin(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `ls -d /usr/lib/postgresql/*/bin/${name} 2>/dev/null | sort -V | tail -1`])
  const p = r.stdout?.toString().trim()
  return p || undefined
}

/**
 * A PostgreSQL cluster of the tests' own (initdb in a temp directory, a free port, its socket
 * in that directory), for tests that crash the server. As root, it runs as the postgres user
 * (initdb refuses root).
 */
export async function startPostgres(opts: {passwords?: boolean; ssl?: TlsFiles} = {}): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-pg-'))
  const data = join(dir, 'data')
  const asPg = process.getuid?.() === 0
  const sh = (cmd: string) => {
    const opts = {encoding: 'utf8', env: serverEnv()} as const
    const r = asPg ? spawnSync('runuser', ['-u', 'postgres', '--', 'sh', '-c', cmd], opts) : spawnSync('sh', ['-c', cmd], opts)
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}${r.stdout}`)
  }
  if (asPg) spawnSync('chown', ['postgres', dir])
  const port = await freePort()
  sh(`${pgBin('initdb')} -D ${data} -A trust -U postgres --no-sync >/dev/null`)
  // With ssl: the server's certificate and key in its data directory (the key private to it).
  let ssl = ''
  if (opts.ssl) {
    sh(`cp ${opts.ssl.cert} ${data}/server.crt && cp ${opts.ssl.key} ${data}/server.key && chmod 600 ${data}/server.key`)
    ssl = ' -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key'
  }
  const start = () => sh(`${pgBin('pg_ctl')} -D ${data} -l ${join(dir, 'log')} -w -t 60 -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on${ssl}" start >/dev/null`)
  const stop = (mode: 'fast' | 'immediate' = 'fast') => sh(`${pgBin('pg_ctl')} -D ${data} -m ${mode} -w stop >/dev/null`)
  // With passwords: over TCP, role md5user (password md5pw) signs in with MD5, every other
  // role with SCRAM-SHA-256 (scramuser, password scram pw with a space); the socket stays trust.
  if (opts.passwords) {
    sh(`printf '%s\\n' 'local all all trust' 'host all md5user 127.0.0.1/32 md5' 'host all all 127.0.0.1/32 scram-sha-256' > ${data}/pg_hba.conf`)
  }
  start()
  if (opts.passwords) {
    const sql = "SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'md5pw'; SET password_encryption = 'scram-sha-256'; CREATE ROLE scramuser LOGIN PASSWORD 'scram pw'; GRANT CREATE ON DATABASE postgres TO md5user, scramuser;"
    sh(`psql -q -h ${dir} -p ${port} -U postgres -d postgres -c "${sql}" >/dev/null`)
  }
  return {
    destroy() {
      try {
        stop('immediate')
      } catch {
        // already stopped
      }
      rmSync(dir, {force: true, recursive: true})
    },
    start,
    stop,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
  }
}

/**
 * The RabbitMQ broker the tests use: the machine's (127.0.0.1:5672, or MQ_TEST_RABBITMQ_HOST),
 * driven with rabbitmqctl (as root, or a user that has the Erlang cookie). Each test file gets a
 * vhost of its own (startRabbitVhost), deleted with everything in it when the file ends.
 */
export function rabbitUnavailable(): string | undefined {
  if (!hasProgram('rabbitmqctl')) return 'rabbitmqctl is not installed (apt-get install rabbitmq-server)'
  const r = spawnSync('rabbitmqctl', ['-q', 'list_vhosts'], {encoding: 'utf8', timeout: 30_000})
  if (r.status !== 0) return `rabbitmqctl cannot reach the broker: ${(r.stderr || r.stdout || '').trim().split('\n')[0]}`
  return undefined
}

export interface RabbitVhost {
  name: string
  /** amqp://guest:guest@HOST:5672/NAME */
  url: string
  destroy(): Promise<void>
}

async function rabbitmqctl(...args: string[]): Promise<void> {
  const {execFile} = await import('node:child_process')
  await new Promise<void>((resolve, reject) =>
    execFile('rabbitmqctl', ['-q', ...args], {timeout: 60_000}, (error, _out, stderr) => (error ? reject(new Error(`rabbitmqctl ${args.join(' ')}: ${stderr || error.message}`)) : resolve())),
  )
}

/**
 * A vhost of the calling test file's own, made before its tests and deleted after them (call it
 * in the file's describe block); the getter gives it to the tests.
 */
export function rabbitVhostOfFile(): () => RabbitVhost {
  let vhost: RabbitVhost | undefined
  beforeAll(async () => {
    vhost = await startRabbitVhost()
  }, 60_000)
  afterAll(async () => {
    await vhost?.destroy()
  }, 60_000)
  return () => vhost!
}

/** A vhost of this test file's own on the broker, guest allowed everything in it. */
export async function startRabbitVhost(): Promise<RabbitVhost> {
  const name = `mq-test-${process.pid}-${Date.now().toString(36)}`
  await rabbitmqctl('add_vhost', name)
  await rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*')
  const host = process.env.MQ_TEST_RABBITMQ_HOST ?? '127.0.0.1:5672'
  return {
    destroy: () => rabbitmqctl('delete_vhost', name),
    name,
    url: `amqp://guest:guest@${host}/${encodeURIComponent(name)}`,
  }
}

const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'

/** Why a private RabbitMQ node cannot be started here (Debian's rabbitmq-server is needed). */
export function privateRabbitUnavailable(): string | undefined {
  if (!hasProgram(RABBITMQ_SERVER)) return `${RABBITMQ_SERVER} is not installed (apt-get install rabbitmq-server)`
  return undefined
}

export interface PrivateRabbit {
  /** amqp://guest:guest@127.0.0.1:PORT/ (the default vhost) */
  url: string
  /** Stops the node (gracefully, SIGTERM, or as a crash, SIGKILL) and starts it again on the same data. */
  restart(how: 'graceful' | 'kill'): Promise<void>
  destroy(): Promise<void>
}

/**
 * A RabbitMQ node of the test's own: its own node name, ports (loopback only) and data
 * directory, so that it can be stopped and killed without touching the machine's broker or the
 * other tests. Ready when an AMQP connection opens (5-10 s here).
 */
export async function startPrivateRabbit(): Promise<PrivateRabbit> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-rabbit-'))
  const [port, dist] = [await freePort(), await freePort()]
  const node = `mqt${process.pid}x${n++}@localhost`
  const env = {
    ...process.env,
    RABBITMQ_CONFIG_FILE: join(dir, 'none'),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
  }
  const url = `amqp://guest:guest@127.0.0.1:${port}/`
  let child: ChildProcess | undefined
  const start = async () => {
    // Niced, on one scheduler: an Erlang node's start is CPU-heavy, and the other test files
    // running beside this one must not starve.
    child = spawn('nice', ['-n', '19', RABBITMQ_SERVER], {detached: true, env: {...env, RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+S 1:1 +A 4'}, stdio: 'ignore'})
    const amqp = await import('amqplib')
    for (let i = 0; i < 240; i++) {
      try {
        const c = await amqp.connect(url, {timeout: 1000})
        await c.close()
        return
      } catch {
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    throw new Error(`the private RabbitMQ node ${node} did not start (logs in ${dir}/log)`)
  }
  const beam = () => {
    try {
      return Number(readFileSync(join(dir, 'pid'), 'utf8').trim())
    } catch {
      return undefined
    }
  }
  const stop = async (signal: NodeJS.Signals) => {
    const pid = beam()
    if (pid) {
      try {
        process.kill(pid, signal)
      } catch {}
      for (let i = 0; i < 240; i++) {
        try {
          process.kill(pid, 0)
        } catch {
          break
        }
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    // The wrapper script and anything it left (epmd is shared, and stays).
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }
  }
  await start()
  return {
    async destroy() {
      await stop('SIGKILL')
      rmSync(dir, {force: true, recursive: true})
    },
    async restart(how) {
      await stop(how === 'kill' ? 'SIGKILL' : 'SIGTERM')
      await start()
    },
    url,
  }
}
