import {type Backend} from '../backend.js'
import {writeStdout} from '../stdio.js'
import {ackAction, nackAction} from './actions/ack.js'
import {popAction} from './actions/pop.js'
import {pushAction} from './actions/push.js'
import {parseCommandLine, type Parsed, type Verb, VERBS} from './grammar.js'
import {openCliBackend} from './open-backend.js'

type F = Parsed['flags']
const str = (f: F, k: string) => f[k] as string | undefined
const num = (f: F, k: string) => f[k] as number | undefined
const bool = (f: F, k: string) => Boolean(f[k])

/** What each hot verb does with its parsed command line (the actions are shared with nothing else). */
const ACTIONS: Record<Verb, (b: Backend, p: Parsed) => Promise<unknown>> = {
  ack: (b, {args, flags}) => ackAction(b, args.queue as string, args.receipt as string[], bool(flags, 'json')),
  // Imported when used: the worker brings child_process, which the other verbs need not load.
  consume: async (b, {args, flags, rest}) => {
    const {consumeAction, consumeHandler} = await import('./actions/consume.js')
    return consumeAction(b, consumeRequest(args.queue as string, flags, rest), consumeHandler({exec: str(flags, 'exec'), rest, shell: str(flags, 'shell')}))
  },
  nack: (b, {args, flags}) => nackAction(b, args.queue as string, args.receipt as string, num(flags, 'delay') ?? 0),
  pop: (b, {args, flags}) =>
    popAction(b, {base64: bool(flags, 'base64'), json: bool(flags, 'json'), leaseMs: num(flags, 'lease'), output: str(flags, 'output'), queue: args.queue as string, waitMs: num(flags, 'wait')}),
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
 * Runs a hot verb's command line (without the verb): parse (grammar.ts), check the handler
 * (consume), open the engine, act, print the JSON result under --json. Errors propagate to the
 * caller, which reports them (report-error.ts). The fast path and the oclif classes both call
 * this, so a command line means one thing.
 */
export async function runVerb(verb: Verb, argv: readonly string[]): Promise<void> {
  const parsed = parseCommandLine(verb, VERBS[verb], argv)
  if (verb === 'consume') (await import('./actions/consume.js')).consumeHandler({exec: str(parsed.flags, 'exec'), rest: parsed.rest, shell: str(parsed.flags, 'shell')})
  const backend = await openCliBackend({spool: str(parsed.flags, 'spool'), url: str(parsed.flags, 'url')})
  try {
    const result = await ACTIONS[verb](backend, parsed)
    if (parsed.flags.json && result !== undefined) await writeStdout(JSON.stringify(result) + '\n')
  } finally {
    await backend.close()
  }
}

export function isVerb(word: string | undefined): word is Verb {
  return word !== undefined && Object.hasOwn(VERBS, word)
}
