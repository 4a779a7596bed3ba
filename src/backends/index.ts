import {type Backend} from '../backend.js'
import {ConfigError} from '../errors.js'
import {resolveSpoolRoot} from '../spool/layout.js'
import {Queue} from '../queue.js'
import {type OpenOptions, openRegistered, registerEngine} from './registry.js'

export {type EngineEntry, type OpenOptions, registerEngine} from './registry.js'

/**
 * The engines mq comes with, each registered by its URL schemes (./registry.ts); another is
 * added with registerEngine, without editing anything here:
 *
 *   file:///var/spool/mq     the spool in that directory (an absolute path)
 *   memory:  memory:NAME     the in-memory reference engine (one process; NAME shares a store)
 *   redis://host:6379/0      a Redis server (rediss:// for TLS); options in src/backends/redis/
 *   postgres://user@host/db  a PostgreSQL database; options in src/backends/postgres/
 *   amqp://user:pw@host/vhost  a RabbitMQ broker (amqps:// for TLS); options in src/backends/rabbitmq/
 *
 * Each entry imports its engine when a URL names it, so a command pays only for its own.
 */
registerEngine({
  example: 'file:///path/to/spool',
  async open(url, parsed, opts) {
    const {SpoolBackend} = await import('./spool/index.js')
    return new SpoolBackend(spoolPath(url, parsed), {onNotice: opts.onNotice})
  },
  schemes: ['file:'],
})
registerEngine({
  example: 'memory:',
  async open(_url, parsed) {
    const {MemoryBackend} = await import('./memory/index.js')
    return new MemoryBackend(decodeURIComponent(parsed.pathname))
  },
  schemes: ['memory:'],
})
registerEngine({
  example: 'redis://HOST:6379/0',
  async open(url, _parsed, opts) {
    const {RedisBackend} = await import('./redis/index.js')
    return new RedisBackend(url, {lean: opts.lean})
  },
  schemes: ['redis:', 'rediss:'],
})
registerEngine({
  example: 'postgres://USER@HOST/DB',
  async open(url, _parsed, opts) {
    const {PostgresBackend} = await import('./postgres/index.js')
    return new PostgresBackend(url, {lean: opts.lean, relay: opts.relay})
  },
  schemes: ['postgres:', 'postgresql:'],
})

registerEngine({
  example: 'amqp://USER:PASSWORD@HOST:5672/VHOST',
  async open(url) {
    const {RabbitBackend} = await import('./rabbitmq/index.js')
    return new RabbitBackend(url)
  },
  schemes: ['amqp:', 'amqps:'],
})

/**
 * Opens the engine a URL names, under the queue layer (src/queue.ts: names and capabilities
 * checked once, for every engine). Without a URL, the spool: `opts.spool`, else $MQ_SPOOL,
 * else $XDG_STATE_HOME/mq, else ~/.local/state/mq.
 */
export async function openBackend(url: string | undefined, opts: OpenOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  if (url === undefined) {
    const {SpoolBackend} = await import('./spool/index.js')
    return new Queue(new SpoolBackend(resolveSpoolRoot(opts.spool, env), {onNotice: opts.onNotice}))
  }
  return new Queue(await openRegistered(url, opts))
}

/**
 * The spool directory of a file: URL. Only an absolute path: file:///var/spool/mq, or
 * file:/var/spool/mq. file://relative/path (a host named "relative") and file:relative (a
 * relative path, which WHATWG URLs turn into /relative) are configuration errors: they would
 * name a directory other than the one meant.
 */
function spoolPath(url: string, parsed: URL): string {
  if (parsed.host !== '' && parsed.host !== 'localhost')
    throw new ConfigError(`${url}: a file: URL names a path on this host (file:///absolute/path); "${parsed.host}" reads as a host name`)
  if (!/^file:(\/\/(localhost)?)?\//i.test(url)) throw new ConfigError(`${url}: a file: URL needs an absolute path (file:///absolute/path)`)
  return decodeURIComponent(parsed.pathname)
}
