import {type ParseArgsConfig, parseArgs} from 'node:util'

import {type Backend} from '../backend.js'
import {parseDuration, parseTime} from '../duration.js'
import {MAX_PRIORITY} from '../policy.js'
import {validateQueueName} from '../queue-name.js'
import {ackAction, nackAction} from './actions/ack.js'
import {popAction} from './actions/pop.js'
import {pushAction} from './actions/push.js'
import {openCliBackend} from './open-backend.js'
import {reportError} from './report-error.js'

/**
 * The fast path for the hot commands (push, pop, ack, nack). Loading @oclif/core costs ~70 ms,
 * about as much as starting Node itself, and shell loops pay it per message. So bin/run.cjs
 * hands these commands here first: node:util parseArgs reads the same flags, and the same
 * action as the oclif command runs. Anything out of the ordinary (--help, an unknown flag, a
 * value that does not parse) is declined before any I/O, and oclif takes the whole command
 * line as usual, so help and error messages stay oclif's. test/unit/cli/fast.test.ts keeps the
 * flag tables here and in src/commands/ in step.
 */

type Options = NonNullable<ParseArgsConfig['options']>
type Values = Record<string, boolean | string | string[] | undefined>

interface FastCommand {
  options: Options
  /** Allowed number of positionals [min, max]. */
  positionals: [number, number]
  /** Runs the action, or returns undefined to decline (oclif then reports the problem). */
  run(backend: Backend, v: Values, pos: string[]): Promise<unknown> | undefined
}

const common: Options = {json: {type: 'boolean'}, spool: {type: 'string'}, url: {type: 'string'}}

/** A flag value converter that declines (undefined) instead of throwing. */
function maybe<T>(fn: () => T): T | undefined {
  try {
    return fn()
  } catch {
    return undefined
  }
}

const DECLINE = undefined

export const FAST_COMMANDS: Record<string, FastCommand> = {
  ack: {
    options: common,
    positionals: [2, Number.POSITIVE_INFINITY],
    run: (b, v, [queue, ...receipts]) => ackAction(b, queue, receipts, Boolean(v.json)),
  },
  nack: {
    options: {...common, delay: {type: 'string'}},
    positionals: [2, 2],
    run(b, v, [queue, receipt]) {
      const delay = v.delay === undefined ? 0 : maybe(() => parseDuration(v.delay as string, 'delay'))
      return delay === undefined ? DECLINE : nackAction(b, queue, receipt, delay)
    },
  },
  pop: {
    options: {
      ...common,
      base64: {type: 'boolean'},
      lease: {type: 'string'},
      output: {short: 'o', type: 'string'},
      wait: {type: 'string'},
    },
    positionals: [1, 1],
    run(b, v, [queue]) {
      const leaseMs = v.lease === undefined ? undefined : maybe(() => parseDuration(v.lease as string, 'lease'))
      const waitMs = v.wait === undefined ? 0 : maybe(() => parseDuration(v.wait as string, 'wait'))
      if ((v.lease !== undefined && leaseMs === undefined) || waitMs === undefined) return DECLINE
      return popAction(b, {
        base64: Boolean(v.base64),
        json: Boolean(v.json),
        leaseMs,
        output: v.output as string | undefined,
        queue,
        waitMs,
      })
    },
  },
  push: {
    options: {
      ...common,
      'allow-empty': {type: 'boolean'},
      at: {type: 'string'},
      batch: {short: 'b', type: 'boolean'},
      delay: {type: 'string'},
      header: {multiple: true, short: 'H', type: 'string'},
      key: {short: 'k', type: 'string'},
      'key-ttl': {type: 'string'},
      null: {short: '0', type: 'boolean'},
      priority: {short: 'p', type: 'string'},
      ttl: {type: 'string'},
      wait: {type: 'string'},
    },
    positionals: [1, 2],
    run(b, v, [queue, body]) {
      if (v.delay !== undefined && v.at !== undefined) return DECLINE
      const durations: Record<string, number | undefined> = {}
      for (const f of ['key-ttl', 'ttl', 'wait']) {
        if (v[f] === undefined) continue
        durations[f] = maybe(() => parseDuration(v[f] as string, f))
        if (durations[f] === undefined) return DECLINE
      }
      const delay = v.delay === undefined ? undefined : maybe(() => parseDuration(v.delay as string, 'delay'))
      const at = v.at === undefined ? undefined : maybe(() => parseTime(v.at as string, 'at'))
      const priority = v.priority === undefined ? undefined : integer(v.priority as string, 0, MAX_PRIORITY)
      if ((v.delay !== undefined && delay === undefined) || (v.at !== undefined && at === undefined)) return DECLINE
      if (v.priority !== undefined && priority === undefined) return DECLINE
      return pushAction(b, {
        allowEmpty: Boolean(v['allow-empty']),
        at,
        batch: Boolean(v.batch),
        body,
        delay,
        header: v.header as string[] | undefined,
        json: Boolean(v.json),
        key: v.key as string | undefined,
        keyTtl: durations['key-ttl'],
        null: Boolean(v.null),
        priority,
        queue,
        ttl: durations.ttl,
        wait: durations.wait,
      })
    },
  },
}

function integer(s: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^-?\d+$/.test(s)) return undefined
  const n = Number(s)
  return n >= min && n <= max ? n : undefined
}

/**
 * Runs argv (without node and script) if it is a hot command this path can take whole.
 * Returns false, having done nothing, when oclif should take it instead.
 */
export async function runFast(argv: string[]): Promise<boolean> {
  const spec = FAST_COMMANDS[argv[0]]
  if (!spec || argv.includes('--help') || argv.includes('-h')) return false
  let values: Values
  let positionals: string[]
  try {
    ;({positionals, values} = parseArgs({allowPositionals: true, args: argv.slice(1), options: spec.options, strict: true}) as {
      positionals: string[]
      values: Values
    })
  } catch {
    return false
  }
  if (positionals.length < spec.positionals[0] || positionals.length > spec.positionals[1]) return false
  if (maybe(() => validateQueueName(positionals[0])) === undefined) return false
  const json = Boolean(values.json)
  let backend: Backend
  try {
    backend = await openCliBackend({spool: values.spool as string | undefined, url: values.url as string | undefined})
  } catch (error) {
    reportError(error as Error, json)
    return true
  }
  const running = spec.run(backend, values, positionals)
  if (running === DECLINE) return false
  try {
    const result = await running
    if (json && result) process.stdout.write(JSON.stringify(result) + '\n')
  } catch (error) {
    reportError(error as Error, json)
  } finally {
    await backend.close()
  }
  return true
}
