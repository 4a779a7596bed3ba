import {EXIT, type ExitCode} from './exit-codes.js'

/**
 * Every error mq raises on purpose. Each carries a stable `code` (for --json and scripts),
 * the exit status it maps to, and optionally a hint. Commands never choose exit codes;
 * base-command.ts maps errors through `exitCodeOf`.
 */
export class MqError extends Error {
  readonly code: string
  readonly exitCode: ExitCode
  readonly hint?: string

  constructor(code: string, exitCode: ExitCode, message: string, hint?: string) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCode
    this.hint = hint
  }
}

export class UsageError extends MqError {
  constructor(message: string, hint?: string) {
    super('usage', EXIT.USAGE, message, hint)
  }
}

export class InvalidQueueNameError extends MqError {
  constructor(name: string, why: string) {
    super('invalid_queue_name', EXIT.USAGE, `invalid queue name ${JSON.stringify(name)}: ${why}`)
  }
}

/** The receipt or id names no message that is in flight now (already acked, reclaimed, or never claimed). */
export class NotInFlightError extends MqError {
  constructor(queue: string, ref: string, detail: string) {
    super('not_in_flight', EXIT.NO_INPUT, `${queue}: ${ref}: ${detail}`)
  }

  /** The message is not in flight at all (the words every engine uses). */
  static gone(queue: string, id: string): NotInFlightError {
    return new NotInFlightError(queue, id, 'not in flight (already acked, released, dead-lettered, or never claimed)')
  }

  /** The message is in flight again under a later delivery: this receipt's lease was lost. */
  static claimedAgain(queue: string, id: string, attempt: number | string): NotInFlightError {
    return new NotInFlightError(queue, id, `lease lost: the message was claimed again (attempt ${attempt})`)
  }
}

export class NotSubscribedError extends MqError {
  constructor(topic: string, queue: string) {
    super('not_subscribed', EXIT.NO_INPUT, `${topic}: ${queue} is not subscribed`)
  }
}

/** An inspection or administration of a queue that does not exist (a typo must not pass as an empty queue). */
export class NoSuchQueueError extends MqError {
  constructor(queue: string) {
    super('no_such_queue', EXIT.NO_INPUT, `${queue}: no such queue`, 'mq queues lists them')
  }
}

/** The engine cannot do this (see Capabilities in src/backend.ts): said plainly, never answered wrongly. */
export class NotSupportedError extends MqError {
  constructor(engine: string, what: string) {
    super('not_supported', EXIT.CONFIG, `${what}: not supported by the ${engine} engine`)
  }
}

/** A push to a topic that has no subscribers (any more): nothing is written. */
export class NoSubscribersError extends MqError {
  constructor(topic: string) {
    super('no_subscribers', EXIT.UNAVAILABLE, `${topic}: topic has no subscribers; nothing was pushed`, `mq subscribe ${topic} QUEUE`)
  }
}

export class NoInputError extends MqError {
  constructor(message: string, hint?: string) {
    super('no_input', EXIT.NO_INPUT, message, hint)
  }
}

export class DataError extends MqError {
  constructor(message: string) {
    super('data', EXIT.DATA, message)
  }
}

export class QueueFullError extends MqError {
  constructor(queue: string, depth: number, max: number) {
    super('queue_full', EXIT.TEMP_FAIL, `${queue}: queue full (${depth} of max-depth ${max})`, 'retry later, or push --wait')
  }
}

export class QueuePausedError extends MqError {
  constructor(queue: string) {
    super('paused', EXIT.UNAVAILABLE, `${queue}: queue is paused`, `mq resume ${queue}`)
  }
}

export class ConfigError extends MqError {
  constructor(message: string) {
    super('config', EXIT.CONFIG, message)
  }
}

/**
 * Something in a spool is not what mq made and cannot be set aside: the spool path is not a
 * directory, a queue directory or its bad/ directory is a symbolic link. mq never follows a
 * link inside a spool, so it stops with this (78) instead.
 */
export class SpoolDamageError extends MqError {
  constructor(path: string, what: string, hint?: string) {
    super('spool_damage', EXIT.CONFIG, `${path}: ${what}`, hint)
  }
}

/**
 * A filesystem operation failed. Names the operation and the path, as pueue does,
 * and picks the exit status from errno.
 */
export class SpoolIOError extends MqError {
  readonly errno?: string
  constructor(op: string, path: string, cause: NodeJS.ErrnoException) {
    const errno = cause.code
    const exit =
      errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS'
        ? EXIT.NO_PERM
        : op === 'mkdir' && errno !== 'ENOSPC' && errno !== 'EIO'
          ? EXIT.CANT_CREATE
          : EXIT.IO
    // Node's text is "ENOTDIR: not a directory, stat '/x'": keep only the middle.
    const why = cause.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '[^']*'( -> '[^']*')?)?$/, '')
    super(errno ? errno.toLowerCase() : 'io', exit, `${op} ${path}: ${why}`)
    this.errno = errno
    this.cause = cause
  }
}

/** Wraps a thrown fs error into SpoolIOError (leaves MqErrors alone). */
export function ioError(op: string, path: string, error: unknown): Error {
  if (error instanceof MqError) return error
  const e = error as NodeJS.ErrnoException
  return e && typeof e === 'object' && typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)
    ? new SpoolIOError(op, path, e)
    : (error as Error)
}

export function isErrno(error: unknown, ...codes: string[]): boolean {
  return Boolean(error && typeof error === 'object' && codes.includes((error as NodeJS.ErrnoException).code ?? ''))
}

/**
 * A body larger than the engine takes (a server engine's max_body=): refused before anything is
 * sent (65); a streamed body is not read on past the limit.
 */
export class BodyTooLargeError extends MqError {
  constructor(queue: string, size: number, kind: string, limit: string) {
    super('body_too_large', EXIT.DATA, `${queue}: a message body is larger than the ${kind} engine's limit of ${limit} (max_body=${limit}; ${size} bytes read); nothing was pushed`, 'raise max_body= in the URL, or keep a large payload in a file and push its path')
  }
}

/**
 * A queue server (Redis, PostgreSQL) cannot be reached, or went away during a command (69).
 * Nothing is retried behind the caller's back: the command fails within seconds, saying where.
 */
export class ServerUnavailableError extends MqError {
  constructor(where: string, why: string) {
    super('unavailable', EXIT.UNAVAILABLE, `${where}: ${why}`, 'is the server running, and is the URL right?')
  }
}

/**
 * The connection went away (or no answer came in command_timeout) after a request was sent:
 * the server may have done it. A driver throws this, never a plain ServerUnavailableError, for a
 * write whose fate it cannot know; the queue layer tries it once more where that is safe, and
 * otherwise says the outcome is unknown (OutcomeUnknownError).
 */
export class ConnectionLostError extends ServerUnavailableError {
  readonly requestSent = true
}

/**
 * A write whose reply was lost, and which one more try could not settle (76): it may or may
 * not have taken effect. The message names the write and what to do.
 */
export class OutcomeUnknownError extends MqError {
  constructor(what: string, why: string, hint: string) {
    super('outcome_unknown', EXIT.OUTCOME_UNKNOWN, `${what}: the outcome is unknown: ${why}`, hint)
  }
}

/**
 * A queue server answered, and refused: not a failure to reach it, so retrying the same thing
 * as it stands is pointless (a password, a role, a database that does not exist: 77 or 78), or
 * worth it later (out of memory, too many clients, starting up: 75). The hint names the cause's
 * class, never "is the server running?".
 */
export class ServerRefusedError extends MqError {
  constructor(where: string, why: string, exitCode: typeof EXIT.CONFIG | typeof EXIT.NO_PERM | typeof EXIT.TEMP_FAIL | typeof EXIT.UNAVAILABLE) {
    const hint =
      exitCode === EXIT.NO_PERM
        ? 'check the user and password (or the role) in the URL, and what the server grants them'
        : exitCode === EXIT.CONFIG
          ? 'the URL names something the server does not have, or a server that cannot take writes'
          : exitCode === EXIT.TEMP_FAIL
            ? 'the server is busy or short of resources: try again later'
            : 'see the server\'s log'
    super(exitCode === EXIT.NO_PERM ? 'refused_permission' : exitCode === EXIT.CONFIG ? 'refused_config' : exitCode === EXIT.TEMP_FAIL ? 'refused_busy' : 'refused', exitCode, `${where}: the server refused: ${why}`, hint)
  }
}

/**
 * A push was stored on the primary, but fewer replicas than the URL asked for (replicas=N)
 * confirmed it in time (75). The message exists; a retry with the same --key makes no second copy.
 */
export class ReplicationTimeoutError extends MqError {
  /** `timeout` as the URL gave it (replicas_timeout=300ms, 2s...). */
  constructor(where: string, ids: string[], got: number, wanted: number, timeout: string) {
    super('replication_timeout', EXIT.TEMP_FAIL, `${where}: ${ids.length === 1 ? ids[0] : `${ids.length} messages`}: stored, but ${got} of ${wanted} replicas confirmed within ${timeout}`, 'retry with the same --key, or lower replicas=')
  }
}
