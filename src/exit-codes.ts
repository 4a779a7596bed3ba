/**
 * Every exit status `mq` uses, in one table. sysexits.h values where one fits.
 * The same table is in man/mq.1 (EXIT STATUS); test/unit/exit-codes.test.ts keeps them in step.
 */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** Reserved for crashes outside mq's own error handling (Node's default); never used on purpose. */
  CRASH: 1,
  /** Nothing there: `pop` on an empty queue (or `--wait` ran out). Like grep's "no match", but not 1. */
  EMPTY: 3,
  /** `push --key`: a message with this key already exists; the first message's id is printed. */
  DUPLICATE: 4,
  /** EX_USAGE: bad flags or arguments, bad queue name, bad duration. */
  USAGE: 64,
  /** EX_DATAERR: input data is malformed (a bad receipt, a corrupt message file). */
  DATA: 65,
  /** EX_NOINPUT: no such message in flight (unknown id, double ack, lease lost), or empty stdin. */
  NO_INPUT: 66,
  /** EX_UNAVAILABLE: the queue is paused. */
  UNAVAILABLE: 69,
  /** EX_SOFTWARE: an unexpected internal error (a bug: please report it). */
  SOFTWARE: 70,
  /** EX_CANTCREAT: the spool or a queue directory cannot be created. */
  CANT_CREATE: 73,
  /** EX_IOERR: a read, write, fsync or rename failed (disk full, I/O error). */
  IO: 74,
  /** EX_TEMPFAIL: try again later (queue full). */
  TEMP_FAIL: 75,
  /**
   * EX_PROTOCOL: the outcome is unknown. The connection to the queue server was lost after a
   * write (push, ack, nack...) was sent, and trying again could not settle whether it took effect.
   */
  OUTCOME_UNKNOWN: 76,
  /** EX_NOPERM: permission denied on the spool. */
  NO_PERM: 77,
  /** EX_CONFIG: bad configuration (MQ_SPOOL, MQ_URL, a queue's config file). */
  CONFIG: 78,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]
