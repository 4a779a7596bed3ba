import {Flags} from '@oclif/core'
import {resolve} from 'node:path'

import {durationFlag, leaseFlag, movedMaxAttemptsFlag, queueArg} from '../args.js'
import {BaseCommand} from '../base-command.js'
import {handlerArgv} from '../consume/resolve-handler.js'
import {prepareLogDir} from '../consume/run-handler.js'
import {type ConsumeEvent, Consumer} from '../consume/worker.js'
import {formatDuration, parseDuration} from '../duration.js'
import {palette, startSpinner} from '../output.js'

export default class Consume extends BaseCommand {
  static summary = 'Run a handler for every message: the worker.'
  static description = `Each message's body goes to the handler's stdin; its metadata to the environment (MQ_QUEUE, MQ_ID, MQ_ATTEMPT, MQ_ENQUEUED_AT, MQ_PRIORITY, MQ_RECEIPT, MQ_KEY, MQ_HEADER_*). The handler's exit status decides: 0 acks; 75 or 111 (temporary failure) and any other failure, signal or timeout retry with exponential backoff until the queue's max attempts (mq config --max-attempts), then dead-letter; 100 (permanent failure) dead-letters at once.
The lease is renewed while the handler runs. SIGTERM or SIGINT stops claiming, lets running handlers finish within --grace, then stops them and releases their messages; a second signal stops at once.`

  static examples = [
    '<%= config.bin %> consume jobs --exec ./handler.sh',
    '<%= config.bin %> consume jobs -j 4 --timeout 10m --exec "convert --quality 80"',
    '<%= config.bin %> consume jobs --shell \'jq .url | xargs curl -fsS\'',
    '<%= config.bin %> consume jobs --idle-exit 30s -- ./handler.sh --verbose',
  ]

  static strict = false
  static args = {queue: queueArg({required: true})}

  static flags = {
    exec: Flags.string({char: 'e', description: 'handler program and arguments, split like a shell would but run without one', exclusive: ['shell']}),
    shell: Flags.string({description: 'handler as a shell line, run with /bin/sh -c'}),
    concurrency: Flags.integer({char: 'j', default: 1, description: 'handlers running at once', min: 1}),
    lease: leaseFlag,
    'max-attempts': movedMaxAttemptsFlag,
    backoff: durationFlag({default: async () => parseDuration('5s', 'backoff'), defaultHelp: async () => '5s', description: 'delay before the first retry; doubled per attempt, with jitter'}),
    'backoff-max': durationFlag({default: async () => parseDuration('1h', 'backoff-max'), defaultHelp: async () => '1h', description: 'longest retry delay'}),
    timeout: durationFlag({description: 'stop a handler running longer than this (a failed attempt)'}),
    'kill-after': durationFlag({default: async () => 10_000, defaultHelp: async () => '10s', description: 'after SIGTERM (timeout or shutdown), SIGKILL this much later'}),
    grace: durationFlag({default: async () => 30_000, defaultHelp: async () => '30s', description: 'on SIGTERM/SIGINT, how long running handlers may finish'}),
    once: Flags.boolean({description: 'process what is ready, then exit 0'}),
    'max-messages': Flags.integer({description: 'process at most N messages, then exit 0', min: 1}),
    'idle-exit': durationFlag({description: 'exit 0 after this long with nothing to do'}),
    'log-dir': Flags.string({description: 'write each delivery\'s stdout and stderr to DIR/ID.ATTEMPT.log'}),
  }

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Consume)
    const [queue, ...rest] = argv as string[]
    const handler = handlerArgv(flags.exec, flags.shell, rest)
    if (flags['log-dir']) prepareLogDir(flags['log-dir'])
    const backend = await this.backend(flags)
    const c = await palette()
    const spinner = flags.json ? undefined : await startSpinner(`${queue}: waiting`)
    const log = (line: string) => {
      spinner?.clear()
      process.stderr.write(line + '\n')
      spinner?.render()
    }

    const consumer: Consumer = new Consumer(backend, {
      argv: handler,
      backoffMs: flags.backoff,
      concurrency: flags.concurrency,
      env: process.env,
      graceMs: flags.grace,
      idleExitMs: flags['idle-exit'],
      killAfterMs: flags['kill-after'],
      leaseMs: flags.lease,
      maxBackoffMs: flags['backoff-max'],
      maxMessages: flags['max-messages'],
      onEvent(e: ConsumeEvent) {
        if (flags.json) process.stdout.write(JSON.stringify(e) + '\n')
        else log(humanLine(e, c))
        spinner?.update(`${queue}: ${consumer.summary.processed} processed, ${consumer.summary.failed} failed, ${consumer.inflight - 1} running`)
      },
      onNotice: log,
      once: flags.once,
      output: flags['log-dir'] ? {dir: resolve(flags['log-dir'])} : flags.json ? 'stderr' : 'stdout',
      queue,
      timeoutMs: flags.timeout,
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
      if (!flags.json) log(`mq: ${queue}: ${summary.processed} processed, ${summary.acked} acked, ${summary.failed} failed`)
      // Under --json, stdout holds only the per-message lines.
      return undefined
    } finally {
      spinner?.stop()
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
    }
  }
}

function humanLine(e: ConsumeEvent, c: Awaited<ReturnType<typeof palette>>): string {
  const paint = {ack: c.green, dead: c.red, lost: c.yellow, released: c.dim, retry: c.yellow}[e.result]
  const extra =
    e.result === 'retry'
      ? ` (${e.detail}; again in ${formatDuration(e.retryInMs ?? 0)})`
      : e.detail && e.result !== 'ack'
        ? ` (${e.detail})`
        : ''
  return `${e.queue} ${e.id} ${paint(e.result)} attempt ${e.attempt} ${formatDuration(e.durationMs)}${extra}`
}
