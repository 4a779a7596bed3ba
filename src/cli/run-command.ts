import {type Backend} from '../backend.js'
import {writeStderr, writeStdout} from '../stdio.js'
import {ackAction, nackAction} from './actions/ack.js'
import {configAction, gcAction, peekAction, purgeAction, queuesAction, requeueAction, statsAction, subscribeAction, topicsAction} from './actions/admin.js'
import {popAction} from './actions/pop.js'
import {cancelAction, dropAction, showAction, waitAction} from './actions/steer.js'
import {pushAction} from './actions/push.js'
import {type CommandName, parseCommandLine, type Request, VERBS, type Verb} from './grammar.js'
import {openCliBackend} from './open-backend.js'

type ActionName = Exclude<CommandName, 'help' | 'version'>

/**
 * What each command does with its request (Request<C>: the parsed command line by camelCase
 * name, defaults filled in, typed from the grammar), for every command but help and version;
 * consume's handler, checked before the engine opened, is the third argument.
 */
const ACTIONS: {[C in ActionName]: (b: Backend, i: Request<C>, handler: string[]) => Promise<unknown>} = {
  ack: (b, i) => ackAction(b, i.queue, i.receipt, Boolean(i.json)),
  cancel: cancelAction,
  config: configAction,
  // Imported when used: the worker brings child_process, which the other verbs need not load.
  consume: async (b, i, handler) => (await import('./actions/consume.js')).consumeAction(b, i, handler),
  // Imported when used: the web server is for this command alone.
  dashboard: async (b, i) => (await import('./actions/dashboard.js')).dashboardAction(b, i),
  drop: dropAction,
  gc: gcAction,
  nack: (b, i) => nackAction(b, i.queue, i.receipt, i.delay, Boolean(i.json)),
  pause: async (b, i) => (await b.pause(i.queue), {paused: true, queue: i.queue}),
  peek: peekAction,
  pop: popAction,
  purge: purgeAction,
  push: pushAction,
  queues: queuesAction,
  requeue: requeueAction,
  async resume(b, i) {
    const was = await b.resume(i.queue)
    if (!was && !i.json) writeStderr(`mq: ${i.queue} was not paused\n`)
    return {paused: false, queue: i.queue, wasPaused: was}
  },
  show: showAction,
  stats: statsAction,
  subscribe: subscribeAction,
  topics: topicsAction,
  unsubscribe: async (b, i) => (await b.unsubscribe(i.topic, i.queue), {queue: i.queue, subscribed: false, topic: i.topic}),
  wait: waitAction,
}

/**
 * Runs a command line (without the command's name): parse (grammar.ts), check the handler
 * (consume), open the engine, act, print the JSON result under --json. Errors propagate to the
 * caller, which reports them (report-error.ts). The fast path and the oclif classes both call
 * this, so a command line means one thing.
 */
export async function runCommand<C extends ActionName>(name: C, argv: readonly string[]): Promise<void> {
  const {input} = parseCommandLine(name, argv)
  // The handler is checked before the engine opens: a mistake in it fails at once.
  const handler = name === 'consume' ? (await import('./actions/consume.js')).consumeHandler(input as Request<'consume'>) : []
  const backend = await openCliBackend(input, name)
  try {
    const act: (b: Backend, i: Request<C>, handler: string[]) => Promise<unknown> = ACTIONS[name]
    const result = await act(backend, input, handler)
    if (input.json && result !== undefined) await writeStdout(JSON.stringify(result) + '\n')
  } finally {
    await backend.close()
  }
}

export function isVerb(word: string | undefined): word is Verb {
  return word !== undefined && Object.hasOwn(VERBS, word)
}
