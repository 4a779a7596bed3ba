import {resolve} from 'node:path'

import {type Backend} from '../../backend.js'
import {handlerArgv} from '../../consume/resolve-handler.js'
import {prepareLogDir} from '../../consume/run-handler.js'
import {type ConsumeEvent, Consumer} from '../../consume/worker.js'
import {formatAge} from '../../duration.js'
import {EXIT} from '../../exit-codes.js'
import {palette, startSpinner} from '../../output.js'
import {writeStderr, writeStdout, writeStdoutSync} from '../../stdio.js'

/** `mq consume`'s command line, as parsed (durations in ms, defaults filled in by the grammar). */
export interface ConsumeRequest {
  queue: string
  exec?: string
  shell?: string
  /** Words after "--": the handler's argv (appended to --exec). */
  rest: string[]
  concurrency: number
  lease?: number
  backoff: number
  backoffMax: number
  timeout?: number
  killAfter: number
  grace: number
  once?: boolean
  drain?: boolean
  maxMessages?: number
  idleExit?: number
  logDir?: string
  json?: boolean
}

/** The handler, checked before anything opens: a usage mistake or a missing program fails at once. */
export function consumeHandler(r: Pick<ConsumeRequest, 'exec' | 'rest' | 'shell'>): string[] {
  return handlerArgv(r.exec, r.shell, r.rest)
}

/**
 * `mq consume`: the worker (src/consume/worker.ts) with its output: one JSON line per finished
 * delivery on stdout (--json), or one line for people on stderr and a status line on a
 * terminal. SIGTERM/SIGINT stop it gracefully, a second one at once (exit 128+signal).
 * With --drain, the exit status says whether everything it handled went well (65 if any of it
 * was dead-lettered).
 */
export async function consumeAction(backend: Backend, r: ConsumeRequest, handler: string[]): Promise<undefined> {
  if (r.logDir) prepareLogDir(r.logDir)
  const c = await palette()
  const spinner = r.json ? undefined : await startSpinner(`${r.queue}: waiting`)
  const log = (line: string) => {
    spinner?.clear()
    writeStderr(line + '\n')
    spinner?.render()
  }

  let outputClosed: unknown
  const consumer: Consumer = new Consumer(backend, {
    argv: handler,
    backoffMs: r.backoff,
    concurrency: r.concurrency,
    drain: r.drain,
    env: process.env,
    graceMs: r.grace,
    idleExitMs: r.idleExit,
    killAfterMs: r.killAfter,
    leaseMs: r.lease,
    maxBackoffMs: r.backoffMax,
    maxMessages: r.maxMessages,
    onEvent(e: ConsumeEvent) {
      if (r.json) {
        // A reader that went away (a closed pipe) stops the worker as SIGTERM would (running
        // handlers finish, their results are settled), then the error is reported: exit 74.
        writeStdout(JSON.stringify(e) + '\n').catch((error: unknown) => {
          outputClosed ??= error
          consumer.stop()
        })
      } else log(humanLine(e, c))
      spinner?.update(`${r.queue}: ${consumer.summary.processed} processed, ${consumer.summary.failed} failed, ${consumer.inflight - 1} running`)
    },
    onNotice: log,
    once: r.once,
    output: r.logDir ? {dir: resolve(r.logDir)} : r.json ? 'stderr' : 'stdout',
    // On a terminal with a status line: handlers' output in whole lines, the status line
    // cleared before each and drawn again after, never glued onto it.
    ...(spinner && {
      handlerLines(fd: 1 | 2, text: Buffer) {
        spinner.clear()
        try {
          if (fd === 2) writeStderr(text)
          else writeStdoutSync(text)
        } catch {
          // the terminal went away: nobody to show it to
        }
        spinner.render()
      },
    }),
    queue: r.queue,
    timeoutMs: r.timeout,
  })

  let signals = 0
  let lastSignal: NodeJS.Signals | undefined
  const onSignal = (sig: NodeJS.Signals) => {
    lastSignal = sig
    if (++signals === 1) consumer.stop()
    else {
      log(`mq: second ${sig}: stopping now; running messages are released`)
      consumer.forceStop()
    }
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  try {
    const summary = await consumer.run()
    if (summary.forced && lastSignal) process.exitCode = 128 + (lastSignal === 'SIGINT' ? 2 : 15)
    else if (r.drain && summary.dead > 0) process.exitCode = EXIT.DATA
    if (outputClosed) throw outputClosed
    if (!r.json) log(`mq: ${r.queue}: ${summary.processed} processed, ${summary.acked} acked, ${summary.failed} failed${summary.dead ? `, ${summary.dead} dead-lettered` : ''}`)
    return undefined
  } finally {
    spinner?.stop()
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  }
}

function humanLine(e: ConsumeEvent, c: Awaited<ReturnType<typeof palette>>): string {
  const paint = {ack: c.green, dead: c.red, lost: c.yellow, released: c.dim, retry: c.yellow}[e.result]
  const extra =
    e.result === 'retry'
      ? ` (${e.detail}; again in ${formatAge(e.retryInMs ?? 0)})`
      : e.detail && e.result !== 'ack'
        ? ` (${e.detail})`
        : ''
  return `${e.queue} ${e.id} ${paint(e.result)} attempt ${e.attempt} ${formatAge(e.durationMs)}${extra}`
}
