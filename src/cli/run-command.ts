import {type Backend, type MessageState, type PurgeState} from '../backend.js'
import {writeStdout} from '../stdio.js'
import {ackAction, nackAction} from './actions/ack.js'
import {configAction, gcAction, peekAction, purgeAction, queuesAction, requeueAction, statsAction, subscribeAction, topicsAction} from './actions/admin.js'
import {popAction} from './actions/pop.js'
import {pushAction} from './actions/push.js'
import {type CommandName, COMMANDS, parseCommandLine, type Parsed, VERBS, type Verb} from './grammar.js'
import {openCliBackend} from './open-backend.js'

type F = Parsed['flags']
const str = (f: F, k: string) => f[k] as string | undefined
const num = (f: F, k: string) => f[k] as number | undefined
const bool = (f: F, k: string) => Boolean(f[k])
const HOUR = 3_600_000

/** What each command does with its parsed command line, on an open engine. */
const ACTIONS: Record<Exclude<CommandName, 'help' | 'version'>, (b: Backend, p: Parsed) => Promise<unknown>> = {
  ack: (b, {args, flags}) => ackAction(b, args.queue as string, args.receipt as string[], bool(flags, 'json')),
  config: (b, {args, flags}) =>
    configAction(b, {json: bool(flags, 'json'), leaseMs: num(flags, 'lease'), maxAttempts: num(flags, 'max-attempts'), maxDepth: num(flags, 'max-depth'), noMaxDepth: bool(flags, 'no-max-depth'), queue: args.queue as string}),
  // Imported when used: the worker brings child_process, which the other verbs need not load.
  consume: async (b, {args, flags, rest}) => {
    const {consumeAction, consumeHandler} = await import('./actions/consume.js')
    return consumeAction(b, consumeRequest(args.queue as string, flags, rest), consumeHandler({exec: str(flags, 'exec'), rest, shell: str(flags, 'shell')}))
  },
  gc: (b, {args, flags}) =>
    gcAction(b, {doneOlderThanMs: num(flags, 'done-older-than') ?? HOUR, force: bool(flags, 'force'), json: bool(flags, 'json'), queue: args.queue as string | undefined, tmpOlderThanMs: num(flags, 'tmp-older-than') ?? HOUR}),
  nack: (b, {args, flags}) => nackAction(b, args.queue as string, args.receipt as string, num(flags, 'delay') ?? 0),
  async pause(b, {args}) {
    await b.pause(args.queue as string)
    return {paused: true, queue: args.queue}
  },
  peek: (b, {args, flags}) => peekAction(b, {base64: bool(flags, 'base64'), count: num(flags, 'count') ?? 10, json: bool(flags, 'json'), queue: args.queue as string, state: (str(flags, 'state') ?? 'ready') as MessageState}),
  pop: (b, {args, flags}) =>
    popAction(b, {base64: bool(flags, 'base64'), json: bool(flags, 'json'), leaseMs: num(flags, 'lease'), output: str(flags, 'output'), queue: args.queue as string, waitMs: num(flags, 'wait')}),
  purge(b, {args, flags}) {
    const asked = (flags.state as string[] | undefined) ?? ['ready']
    const states = (asked.includes('all') ? ['ready', 'delayed', 'dead', 'done'] : [...new Set(asked)]) as PurgeState[]
    return purgeAction(b, {force: bool(flags, 'force'), json: bool(flags, 'json'), queue: args.queue as string, states})
  },
  push: (b, {args, flags}) =>
    pushAction(b, {
      allowEmpty: bool(flags, 'allow-empty'),
      at: num(flags, 'at'),
      batch: bool(flags, 'batch'),
      body: args.body as string | undefined,
      delay: num(flags, 'delay'),
      header: flags.header as string[] | undefined,
      json: bool(flags, 'json'),
      key: str(flags, 'key'),
      keyTtl: num(flags, 'key-ttl'),
      null: bool(flags, 'null'),
      priority: num(flags, 'priority'),
      queue: args.queue as string,
      ttl: num(flags, 'ttl'),
      wait: num(flags, 'wait'),
    }),
  queues: (b, {flags}) => queuesAction(b, {json: bool(flags, 'json')}),
  requeue: (b, {args, flags}) => requeueAction(b, {ids: (args.id as string[] | undefined) ?? [], json: bool(flags, 'json'), queue: args.queue as string}),
  async resume(b, {args, flags}) {
    const was = await b.resume(args.queue as string)
    if (!was && !flags.json) (await import('../stdio.js')).writeStderr(`mq: ${args.queue} was not paused\n`)
    return {paused: false, queue: args.queue, wasPaused: was}
  },
  stats: (b, {args, flags}) => statsAction(b, {json: bool(flags, 'json'), prometheus: bool(flags, 'prometheus'), queue: args.queue as string | undefined, textfile: str(flags, 'textfile')}),
  subscribe: (b, {args}) => subscribeAction(b, {queue: args.queue as string, topic: args.topic as string}),
  topics: (b, {flags}) => topicsAction(b, {json: bool(flags, 'json')}),
  async unsubscribe(b, {args}) {
    await b.unsubscribe(args.topic as string, args.queue as string)
    return {queue: args.queue, subscribed: false, topic: args.topic}
  },
}

function consumeRequest(queue: string, f: F, rest: string[]) {
  return {
    backoffMs: num(f, 'backoff'),
    concurrency: num(f, 'concurrency'),
    drain: bool(f, 'drain'),
    exec: str(f, 'exec'),
    graceMs: num(f, 'grace'),
    idleExitMs: num(f, 'idle-exit'),
    json: bool(f, 'json'),
    killAfterMs: num(f, 'kill-after'),
    leaseMs: num(f, 'lease'),
    logDir: str(f, 'log-dir'),
    maxBackoffMs: num(f, 'backoff-max'),
    maxMessages: num(f, 'max-messages'),
    once: bool(f, 'once'),
    queue,
    rest,
    shell: str(f, 'shell'),
    timeoutMs: num(f, 'timeout'),
  }
}

/**
 * Runs a command line (without the command's name): parse (grammar.ts), check the handler
 * (consume), open the engine, act, print the JSON result under --json. Errors propagate to the
 * caller, which reports them (report-error.ts). The fast path and the oclif classes both call
 * this, so a command line means one thing.
 */
export async function runCommand(name: Exclude<CommandName, 'help' | 'version'>, argv: readonly string[]): Promise<void> {
  const parsed = parseCommandLine(name, COMMANDS[name], argv)
  if (name === 'consume') (await import('./actions/consume.js')).consumeHandler({exec: str(parsed.flags, 'exec'), rest: parsed.rest, shell: str(parsed.flags, 'shell')})
  const backend = await openCliBackend({spool: str(parsed.flags, 'spool'), url: str(parsed.flags, 'url')})
  try {
    const result = await ACTIONS[name](backend, parsed)
    if (parsed.flags.json && result !== undefined) await writeStdout(JSON.stringify(result) + '\n')
  } finally {
    await backend.close()
  }
}

export function isVerb(word: string | undefined): word is Verb {
  return word !== undefined && Object.hasOwn(VERBS, word)
}
