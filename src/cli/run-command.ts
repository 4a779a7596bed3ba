import {type Backend} from '../backend.js'
import {writeStderr, writeStdout} from '../stdio.js'
import {ackAction, nackAction} from './actions/ack.js'
import {configAction, gcAction, peekAction, purgeAction, queuesAction, requeueAction, statsAction, subscribeAction, topicsAction} from './actions/admin.js'
import {type ConsumeRequest} from './actions/consume.js'
import {popAction} from './actions/pop.js'
import {pushAction} from './actions/push.js'
import {type CommandName, COMMANDS, parseCommandLine, VERBS, type Verb} from './grammar.js'
import {openCliBackend} from './open-backend.js'

type Q = {queue: string; json?: boolean}

/**
 * What each command does with its request: the parsed command line by camelCase name, defaults
 * filled in (grammar.ts), which the actions take as it is (typed by each action).
 */
const ACTIONS: Record<Exclude<CommandName, 'help' | 'version'>, (b: Backend, i: never) => Promise<unknown>> = {
  ack: (b, i: Q & {receipt: string[]}) => ackAction(b, i.queue, i.receipt, Boolean(i.json)),
  config: configAction,
  // Imported when used: the worker brings child_process, which the other verbs need not load.
  consume: async (b, i: ConsumeRequest & {handler: string[]}) => (await import('./actions/consume.js')).consumeAction(b, i, i.handler),
  gc: gcAction,
  nack: (b, i: Q & {receipt: string; delay: number}) => nackAction(b, i.queue, i.receipt, i.delay, Boolean(i.json)),
  pause: async (b, i: Q) => (await b.pause(i.queue), {paused: true, queue: i.queue}),
  peek: peekAction,
  pop: popAction,
  purge: purgeAction,
  push: pushAction,
  queues: queuesAction,
  requeue: requeueAction,
  async resume(b, i: Q) {
    const was = await b.resume(i.queue)
    if (!was && !i.json) writeStderr(`mq: ${i.queue} was not paused\n`)
    return {paused: false, queue: i.queue, wasPaused: was}
  },
  stats: statsAction,
  subscribe: subscribeAction,
  topics: topicsAction,
  unsubscribe: async (b, i: Q & {topic: string}) => (await b.unsubscribe(i.topic, i.queue), {queue: i.queue, subscribed: false, topic: i.topic}),
}

/**
 * Runs a command line (without the command's name): parse (grammar.ts), check the handler
 * (consume), open the engine, act, print the JSON result under --json. Errors propagate to the
 * caller, which reports them (report-error.ts). The fast path and the oclif classes both call
 * this, so a command line means one thing.
 */
export async function runCommand(name: Exclude<CommandName, 'help' | 'version'>, argv: readonly string[]): Promise<void> {
  const {input} = parseCommandLine(name, COMMANDS[name], argv)
  // The handler is checked before the engine opens: a mistake in it fails at once.
  if (name === 'consume') input.handler = (await import('./actions/consume.js')).consumeHandler(input as ConsumeRequest)
  const backend = await openCliBackend(input, name)
  try {
    const result = await ACTIONS[name](backend, input as never)
    if (input.json && result !== undefined) await writeStdout(JSON.stringify(result) + '\n')
  } finally {
    await backend.close()
  }
}

export function isVerb(word: string | undefined): word is Verb {
  return word !== undefined && Object.hasOwn(VERBS, word)
}
