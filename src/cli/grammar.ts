import {closest, distance} from 'fastest-levenshtein'
import {parseArgs} from 'node:util'

import {parseDuration, parseTime} from '../duration.js'
import {UsageError} from '../errors.js'
import {validateQueueName} from '../queue-name.js'

/**
 * The command-line grammar, declared once per verb and read by one parser (parseCommandLine).
 * The oclif command classes derive their flags from these declarations (for --help, the
 * manifest and completion: src/cli/oclif-flags.ts) and call the same parser in run(), and the
 * fast path (src/cli/fast.ts) calls it too: a command line means the same thing whichever path
 * runs it, by construction.
 *
 * The grammar, as getopt_long(3) reads it:
 *   --name VALUE, --name=VALUE, -c VALUE, -cVALUE     a flag with a value
 *   --name, -c, -bc (several one-letter booleans)     a boolean
 *   --                                                 the end of flags: the rest are arguments
 *   -                                                  an argument (stdin)
 * A flag given twice is a usage error unless it is repeatable (then one value per use). An
 * unknown flag is a usage error that suggests the nearest known one. So are a missing
 * argument and an extra one.
 */
export type FlagType = 'boolean' | 'duration' | 'enum' | 'integer' | 'string' | 'time'

export interface FlagSpec {
  type: FlagType
  description: string
  /** One-letter alias ("-p"); "0" for push's -0, as xargs -0. */
  char?: string
  /** Repeatable: one value per use, collected in order. */
  multiple?: boolean
  /** integer: bounds; duration: the least milliseconds. */
  min?: number
  max?: number
  /** enum: the values allowed. */
  options?: readonly string[]
  /** Flags that may not be given with this one. */
  exclusive?: readonly string[]
  /** The value when the flag is absent (durations in ms); --help shows it as typed. */
  default?: number | string | readonly string[]
  /** How a default that is not a value reads in --help ("the queue's"). */
  defaultHelp?: string
  /** What the value is called in --help (DURATION, FILE...). */
  helpValue?: string
  /** Refused with this message (a flag that moved elsewhere); not shown in --help. */
  refuse?: string
  /**
   * A boolean that may carry a duration, getopt_long's optional argument: --watch alone, or
   * --watch=5s (the value only with "=": the next word is never taken as it).
   */
  optionalDuration?: true
}

export interface ArgSpec {
  name: string
  description: string
  required?: boolean
  /** A queue or topic name (validated), or free text. */
  kind?: 'queue' | 'text'
  /** Takes every remaining argument (at least one when required). */
  variadic?: boolean
}

export interface VerbSpec {
  args: readonly ArgSpec[]
  flags: Record<string, FlagSpec>
  /** Words after "--" are kept apart (consume's PROGRAM ARGS...) rather than taken as arguments. */
  rest?: boolean
}

/** Flags every command takes. */
export const COMMON_FLAGS = {
  json: {description: 'print machine-readable JSON on stdout (errors as JSON on stderr)', type: 'boolean'},
  spool: {description: 'spool directory [default: $MQ_SPOOL, else $XDG_STATE_HOME/mq, else ~/.local/state/mq]', helpValue: 'DIR', type: 'string'},
  url: {description: 'engine URL: file:///var/spool/mq, redis://HOST:6379/0, postgres://USER@HOST/DB, amqp://USER:PASSWORD@HOST/VHOST [default: $MQ_URL]', helpValue: 'URL', type: 'string'},
} as const satisfies Record<string, FlagSpec>

/**
 * hoistGlobalOptions: the global options (COMMON_FLAGS) written before the command word, as
 * git, docker and kubectl take them, moved to just after it, where the one parser reads them:
 * `mq --url URL --json stats` is `mq stats --url URL --json`. It stops at the first word that
 * is not a global option; it changes nothing when no command word follows them (then the
 * parser's own error, or help, answers), so a flag placed first can never be read as a command.
 */
export function hoistGlobalOptions(argv: readonly string[]): string[] {
  const moved: string[] = []
  let i = 0
  while (i < argv.length && argv[i].startsWith('--')) {
    const eq = argv[i].indexOf('=')
    const spec = (COMMON_FLAGS as Record<string, FlagSpec>)[argv[i].slice(2, eq < 0 ? undefined : eq)]
    if (!spec) break
    const words = spec.type === 'boolean' || eq >= 0 ? 1 : 2
    if (i + words > argv.length) break
    moved.push(...argv.slice(i, i + words))
    i += words
  }
  if (moved.length === 0 || i >= argv.length || argv[i].startsWith('-')) return [...argv]
  return [argv[i], ...moved, ...argv.slice(i + 1)]
}

const QUEUE = {description: 'queue name', kind: 'queue', name: 'queue', required: true} as const satisfies ArgSpec
const LEASE = {defaultHelp: "the queue's (mq config; 5m)", description: 'how long a claim lasts without an ack before the message is delivered again', type: 'duration'} as const satisfies FlagSpec
const MOVED_MAX_ATTEMPTS = {description: 'moved: mq config QUEUE --max-attempts N', refuse: "--max-attempts is the queue's setting now, the same for every consumer: mq config QUEUE --max-attempts N", type: 'string'} as const satisfies FlagSpec

/** The hot verbs: the fast path runs these without loading oclif. */
export const VERBS = {
  ack: {
    args: [QUEUE, {description: 'receipt printed by pop (or a message id); several may be given', name: 'receipt', required: true, variadic: true}],
    flags: {},
  },
  consume: {
    args: [QUEUE],
    flags: {
      exec: {char: 'e', description: 'handler program and arguments, split like a shell would but run without one', exclusive: ['shell'], helpValue: '"PROGRAM ARGS"', type: 'string'},
      shell: {description: 'handler as a shell line, run with /bin/sh -c', helpValue: 'LINE', type: 'string'},
      concurrency: {char: 'j', default: 1, description: 'handlers running at once', min: 1, type: 'integer'},
      lease: LEASE,
      'max-attempts': MOVED_MAX_ATTEMPTS,
      backoff: {default: 5000, description: 'delay before the first retry; doubled per attempt, with jitter', type: 'duration'},
      'backoff-max': {default: 3_600_000, description: 'longest retry delay', type: 'duration'},
      timeout: {description: 'stop a handler running longer than this (a failed attempt)', type: 'duration'},
      'kill-after': {default: 10_000, description: 'after SIGTERM (timeout or shutdown), SIGKILL this much later', type: 'duration'},
      grace: {default: 30_000, description: 'on SIGTERM/SIGINT, how long running handlers may finish', type: 'duration'},
      once: {description: 'process what is ready, then exit 0', exclusive: ['drain'], type: 'boolean'},
      drain: {description: 'work until nothing is ready, delayed or in flight; exit 0, or 65 if any message it handled was dead-lettered', type: 'boolean'},
      'max-messages': {description: 'process at most N messages, then exit 0', min: 1, type: 'integer'},
      'idle-exit': {description: 'exit 0 after this long with nothing to do', type: 'duration'},
      'log-dir': {description: "write each delivery's stdout and stderr to DIR/ID.ATTEMPT.log", helpValue: 'DIR', type: 'string'},
    },
    rest: true,
  },
  nack: {
    args: [QUEUE, {description: 'receipt printed by pop (or a message id)', name: 'receipt', required: true}],
    flags: {
      delay: {default: 0, description: 'not deliverable again before this long from now', type: 'duration'},
    },
  },
  pop: {
    args: [QUEUE],
    flags: {
      lease: LEASE,
      'max-attempts': MOVED_MAX_ATTEMPTS,
      wait: {description: 'wait up to this long for a message (e.g. 30s)', type: 'duration'},
      output: {char: 'o', description: 'write the body to this file; print only the receipt', helpValue: 'FILE', type: 'string'},
      base64: {description: 'with --json: always give the body as base64', type: 'boolean'},
    },
  },
  push: {
    args: [QUEUE, {description: 'message body ("-" or absent: read stdin)', kind: 'text', name: 'body'}],
    flags: {
      batch: {char: 'b', description: 'read many messages from stdin, one per line', type: 'boolean'},
      null: {char: '0', description: 'with --batch: records end with NUL instead of newline (also -0)', type: 'boolean'},
      priority: {char: 'p', description: 'priority 0-9, larger is claimed first', max: 9, min: 0, type: 'integer'},
      delay: {description: 'not deliverable before this long from now (e.g. 30s, 10m)', exclusive: ['at'], type: 'duration'},
      at: {description: 'not deliverable before this time (ISO 8601, or @EPOCH-SECONDS)', helpValue: 'TIME', type: 'time'},
      'allow-empty': {description: 'accept an empty body from stdin', type: 'boolean'},
      key: {char: 'k', description: 'idempotency key: while it holds, a second push with it makes no message (exit 4, first id printed)', type: 'string'},
      'key-ttl': {default: 86_400_000, description: 'how long the key holds', type: 'duration'},
      ttl: {description: 'expiry: not delivered later than this long from now (dead-lettered instead)', type: 'duration'},
      wait: {description: 'if the queue is full, wait up to this long for room', type: 'duration'},
      header: {char: 'H', description: 'user header NAME=VALUE (repeatable); handlers see MQ_HEADER_NAME', helpValue: 'NAME=VALUE', multiple: true, type: 'string'},
    },
  },
} as const satisfies Record<string, VerbSpec>

const OPTIONAL_QUEUE = {description: 'queue name (default: every queue)', kind: 'queue', name: 'queue'} as const satisfies ArgSpec
const FORCE = {char: 'f', description: 'do not ask (needed when not on a terminal, as from cron)', type: 'boolean'} as const satisfies FlagSpec

/** Every other command: oclif dispatches them (and renders their --help); the same parser reads them. */
export const ADMIN = {
  config: {
    args: [QUEUE],
    flags: {
      'max-depth': {description: 'most messages ready + delayed + in flight', exclusive: ['no-max-depth'], min: 1, type: 'integer'},
      'no-max-depth': {description: 'remove the bound', type: 'boolean'},
      'max-attempts': {defaultHelp: '5', description: 'deliveries before a message is dead-lettered instead of delivered again', min: 1, type: 'integer'},
      lease: {defaultHelp: '5m', description: 'the lease of a claim that asks for none', min: 1, type: 'duration'},
    },
  },
  cancel: {
    args: [QUEUE, {description: 'message ids', kind: 'text', name: 'id', required: true, variadic: true}],
    flags: {},
  },
  dashboard: {
    args: [],
    flags: {
      port: {default: 8080, description: 'the TCP port (0: any free one; the URL is printed)', max: 65_535, min: 0, type: 'integer'},
      host: {default: '127.0.0.1', description: 'the address to listen on; beyond loopback only with --auth', type: 'string'},
      auth: {description: 'USER:PASSWORD for HTTP basic auth (default: $MQ_DASHBOARD_AUTH); required beyond loopback', helpValue: 'USER:PASSWORD', type: 'string'},
      'read-only': {description: 'show the queues, offer no actions (and refuse them)', type: 'boolean'},
      interval: {default: 2000, description: 'how often the queues are sampled (one sample serves every open page)', min: 250, type: 'duration'},
    },
  },
  drop: {
    args: [QUEUE],
    flags: {force: FORCE},
  },
  gc: {
    args: [OPTIONAL_QUEUE],
    flags: {
      'done-older-than': {default: 3_600_000, description: 'remove acked messages kept longer than this', type: 'duration'},
      'tmp-older-than': {default: 3_600_000, description: 'remove partial writes of dead producers older than this', type: 'duration'},
      force: FORCE,
    },
  },
  help: {
    args: [{description: 'the command to explain', kind: 'text', name: 'command', variadic: true}],
    flags: {},
  },
  pause: {args: [QUEUE], flags: {}},
  peek: {
    args: [QUEUE],
    flags: {
      count: {char: 'n', default: 10, description: 'how many messages at most', min: 1, type: 'integer'},
      all: {description: 'every message of the state, however many (for pipelines: | xargs mq requeue)', exclusive: ['count'], type: 'boolean'},
      state: {default: 'ready', description: 'which messages', options: ['ready', 'delayed', 'inflight', 'dead', 'done'], type: 'enum'},
      base64: {description: 'with --json: always give bodies as base64', type: 'boolean'},
    },
  },
  purge: {
    args: [QUEUE],
    flags: {
      state: {default: ['ready'], description: 'which messages (repeatable)', multiple: true, options: ['ready', 'delayed', 'dead', 'done', 'all'], type: 'enum'},
      force: FORCE,
    },
  },
  queues: {args: [], flags: {}},
  requeue: {
    args: [QUEUE, {description: 'message ids (default: every dead letter)', kind: 'text', name: 'id', variadic: true}],
    flags: {},
  },
  resume: {args: [QUEUE], flags: {}},
  show: {
    args: [QUEUE, {description: 'message id', kind: 'text', name: 'id', required: true}],
    flags: {
      body: {description: 'print the body alone, byte for byte', exclusive: ['json'], type: 'boolean'},
    },
  },
  stats: {
    args: [OPTIONAL_QUEUE],
    flags: {
      watch: {char: 'w', description: 'refresh every 2s (--watch=INTERVAL: that often) until interrupted, with push and ack rates (in place on a terminal; a block of lines per refresh otherwise)', exclusive: ['prometheus'], helpValue: 'INTERVAL', min: 100, optionalDuration: true, type: 'boolean'},
      prometheus: {description: "print Prometheus text exposition format (for node_exporter's textfile collector)", exclusive: ['json'], type: 'boolean'},
      textfile: {description: 'with --prometheus: write the metrics to FILE, atomically (a temp file beside it, then rename)', helpValue: 'FILE', type: 'string'},
    },
  },
  subscribe: {
    args: [{description: 'topic name', kind: 'queue', name: 'topic', required: true}, QUEUE],
    flags: {},
  },
  topics: {args: [], flags: {}},
  unsubscribe: {
    args: [{description: 'topic name', kind: 'queue', name: 'topic', required: true}, QUEUE],
    flags: {},
  },
  version: {args: [], flags: {}},
  wait: {
    args: [QUEUE, {description: 'message ids (as push printed them)', kind: 'text', name: 'id', required: true, variadic: true}],
    flags: {
      timeout: {description: 'give up after this long (75)', type: 'duration'},
    },
  },
} as const satisfies Record<string, VerbSpec>

/** Every command's grammar. */
export const COMMANDS: Record<CommandName, VerbSpec> = {...VERBS, ...ADMIN}

export type Verb = keyof typeof VERBS
export type CommandName = keyof typeof VERBS | keyof typeof ADMIN

/** The grammar of command C, with its literal types (flag types, argument names). */
export type SpecOf<C extends CommandName> = C extends keyof typeof VERBS ? (typeof VERBS)[C] : C extends keyof typeof ADMIN ? (typeof ADMIN)[C] : never

/** --key-ttl's name in a request: keyTtl. */
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S

/** What the parser makes of one flag's words (convert, and the repeatable ones collected). */
type FlagValue<F> = F extends {optionalDuration: true}
  ? boolean | number
  : F extends {type: 'boolean'}
  ? boolean
  : F extends {multiple: true}
    ? F extends {options: readonly (infer O)[]}
      ? O[]
      : string[]
    : F extends {type: 'duration' | 'integer' | 'time'}
      ? number
      : F extends {type: 'enum'; options: readonly (infer O)[]}
        ? O
        : string

/** Flags by camelCase name: present with a default, else possibly absent. */
type FlagInputs<Fs> = {[K in keyof Fs as Camel<K & string>]: Fs[K] extends {default: unknown} ? FlagValue<Fs[K]> : FlagValue<Fs[K]> | undefined}

/** Arguments by camelCase name: a variadic one as a list (maybe empty), a required one always there. */
type ArgInputs<As extends readonly ArgSpec[]> = {
  [A in As[number] as Camel<A['name']>]: A extends {variadic: true} ? string[] : A extends {required: true} ? string : string | undefined
}

/**
 * What command C is asked to do: its arguments and flags by camelCase name (--key-ttl is
 * keyTtl), defaults filled in, and rest (the words after "--"). The type is read off the
 * grammar above, so an action that takes a flag the grammar does not declare, or takes it as
 * another type, does not compile.
 */
export type Request<C extends CommandName> = FlagInputs<typeof COMMON_FLAGS & SpecOf<C>['flags']> & ArgInputs<SpecOf<C>['args']> & {rest: string[]}

export interface Parsed<C extends CommandName> {
  args: Record<string, string | string[] | undefined>
  flags: Record<string, boolean | number | string | string[] | undefined>
  /** Words after "--", for verbs that keep them. */
  rest: string[]
  /** The request (Request<C>): what the actions take. */
  input: Request<C>
}

/**
 * Parses a verb's command line (without the verb). node's util.parseArgs splits the words
 * (non-strict: it reads values as getopt_long does, "-"-leading ones too); this checks them
 * against the declaration. Every mistake is a UsageError (64).
 */
export function parseCommandLine<C extends CommandName>(verb: C, argv: readonly string[]): Parsed<C> {
  const spec: VerbSpec = COMMANDS[verb]
  const all: Record<string, FlagSpec> = {...COMMON_FLAGS, ...spec.flags}
  const options = Object.fromEntries(Object.entries(all).map(([name, f]) => [name, {type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.char && {short: f.char})} as const]))
  const {tokens} = parseArgs({allowPositionals: true, args: [...argv], options, strict: false, tokens: true})
  const end = tokens.find((t) => t.kind === 'option-terminator')?.index ?? Number.POSITIVE_INFINITY
  const flags: Parsed<C>['flags'] = {}
  const positional: string[] = []
  const rest: string[] = []
  for (const t of tokens) {
    if (t.kind === 'positional') (spec.rest && t.index > end ? rest : positional).push(t.value)
    if (t.kind !== 'option') continue
    const f = all[t.name]
    if (!f) throw unknownFlag(t.rawName, t.rawName.startsWith('--') ? Object.keys(all).map((n) => `--${n}`) : Object.values(all).flatMap((x) => (x.char ? [`-${x.char}`] : [])))
    const name = `--${t.name}`
    if (f.refuse) throw new UsageError(f.refuse)
    if (f.type === 'boolean' && t.value !== undefined && !f.optionalDuration) throw new UsageError(`${name} takes no value`)
    if (f.type !== 'boolean' && t.value === undefined) throw new UsageError(`${name} needs a value`)
    const value = t.value === undefined ? true : f.optionalDuration ? convert(t.name, {...f, type: 'duration'}, t.value) : convert(t.name, f, t.value)
    if (f.multiple) flags[t.name] = [...((flags[t.name] as string[] | undefined) ?? []), value as string]
    else if (flags[t.name] === undefined) flags[t.name] = value
    else throw new UsageError(`${name} was given twice`)
  }
  for (const [name, f] of Object.entries(all)) {
    for (const other of (flags[name] !== undefined && f.exclusive) || []) if (flags[other] !== undefined) throw new UsageError(`--${name} and --${other} cannot be given together`)
  }
  const args: Parsed<C>['args'] = {}
  for (const a of spec.args) {
    const words = positional.splice(0, a.variadic ? positional.length : 1)
    if (a.required && words.length === 0) throw new UsageError(`missing ${a.name.toUpperCase()}`, `mq ${verb} --help`)
    const checked = a.kind === 'queue' ? words.map((w) => validateQueueName(w)) : words
    if (words.length > 0 || a.variadic) args[a.name] = a.variadic ? checked : checked[0]
  }
  if (positional.length > 0) {
    const extra = positional.map((w) => JSON.stringify(w)).join(' ')
    throw new UsageError(`unexpected argument${positional.length > 1 ? 's' : ''} ${extra}`, spec.rest ? `a handler's arguments go after --: mq ${verb} QUEUE --exec PROG -- ARGS` : `mq ${verb} --help`)
  }
  const camel = (name: string) => name.replaceAll(/-(\w)/g, (_, c: string) => c.toUpperCase())
  const input: Record<string, unknown> = {rest}
  for (const [name, f] of Object.entries(all)) input[camel(name)] = flags[name] ?? f.default
  for (const [name, value] of Object.entries(args)) input[camel(name)] = value
  // The one place the request is typed: Request<C> is read off the same spec this loop reads.
  return {args, flags, input: input as Request<C>, rest}
}

/**
 * A flag's value, checked against its type. No flag of mq means anything by an empty value, and
 * an empty one is almost always a variable the script forgot to set (--key "$KEY", --spool
 * "$DIR"): a usage error naming the flag, never a default taken silently.
 */
function convert(name: string, f: FlagSpec, raw: string): number | string {
  if (raw.trim() === '') throw new UsageError(`--${name}: empty value (an unset variable?)`)
  if (f.type === 'duration') return parseDuration(raw, name, f.min)
  if (f.type === 'time') return parseTime(raw, name)
  if (f.type === 'enum' && !f.options!.includes(raw)) throw new UsageError(`--${name}: expected one of ${f.options!.join(', ')}, got ${JSON.stringify(raw)}`)
  if (f.type !== 'integer') return raw
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${name}: not a whole number: ${JSON.stringify(raw)}`)
  const n = Number(raw)
  if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
    throw new UsageError(`--${name}: ${raw} is out of range (${f.max === undefined ? `at least ${f.min}` : `${f.min ?? '...'} to ${f.max}`})`)
  }
  return n
}

/** "unknown flag --lase (did you mean --lease?)": the nearest known name, when one is near. */
function unknownFlag(given: string, known: string[]): UsageError {
  const near = nearest(given, known)
  return new UsageError(`unknown flag ${given}`, near ? `did you mean ${near}?` : 'see --help')
}

/** An unknown command (mq nosuch, mq help nosuch): a usage error naming the nearest command. */
export function unknownCommand(words: readonly string[], commands: readonly string[]): UsageError {
  // An option where the command should be: a global one with no command (or value) after it, or another.
  if (words[0]?.startsWith('-')) {
    const name = words[0].replace(/=.*/, '')
    const global = (COMMON_FLAGS as Record<string, FlagSpec>)[name.slice(2)]
    if (global) return new UsageError(`${name} must be followed by ${global.type === 'boolean' ? '' : 'its value and '}a command`, `e.g. mq ${name}${global.helpValue ? ` ${global.helpValue}` : ''} stats`)
    return new UsageError(`unknown option ${name} before the command (only ${Object.keys(COMMON_FLAGS).map((f) => `--${f}`).join(', ')} may come first)`, 'see mq --help')
  }
  const near = nearest(words[0], commands)
  return new UsageError(`unknown command "${words.join(' ')}"`, near ? `did you mean "mq ${near}"?` : 'see mq --help')
}

/** The candidate within edit distance 2 (and less than half the word) of `word`, if any. */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  const best = candidates.length > 0 ? closest(word, [...candidates]) : undefined
  return best !== undefined && distance(word, best) <= Math.min(2, Math.floor(word.length / 2)) ? best : undefined
}
