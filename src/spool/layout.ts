import {join, resolve} from 'node:path'

import {validateQueueName} from '../queue-name.js'
import {lazy} from '../lazy.js'
import {type Perms, permsFor} from './fs.js'

/**
 * The spool's directory layout (man/mq-spool.5 is the full specification):
 *
 *   SPOOL/QUEUE/tmp/NAME                     being written; never read by consumers
 *   SPOOL/QUEUE/new/P/B7/B10/NAME            ready: priority P, time buckets B7 and B10 of the id
 *   SPOOL/QUEUE/delay/B7/B10/NAME            not before the "n" field: buckets of that time
 *   SPOOL/QUEUE/cur/B7/B10/NAME              claimed, under the lease in the "l" field: buckets of that deadline
 *   SPOOL/QUEUE/done/NAME                    acknowledged (kept until `mq gc`)
 *   SPOOL/QUEUE/dead/NAME, dead/ID.reason    dead letters, and why each one died
 *   SPOOL/QUEUE/bad/…                        quarantined foreign or corrupt files, with a .reason
 *   SPOOL/QUEUE/keys/…                       idempotency keys (keys.ts)
 *
 * All of a queue lives on one filesystem, so every move between states is one rename(2).
 */
export const STATES = ['tmp', 'new', 'delay', 'cur', 'done', 'dead', 'bad', 'keys'] as const
export type StateDir = (typeof STATES)[number]

/** Where the spool is: --spool, else $MQ_SPOOL, else $XDG_STATE_HOME/mq, else ~/.local/state/mq. */
export function resolveSpoolRoot(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag)
  if (env.MQ_SPOOL) return resolve(env.MQ_SPOOL)
  const state = env.XDG_STATE_HOME || join(env.HOME || lazy.os().homedir(), '.local', 'state')
  return join(state, 'mq')
}

export {validateQueueName}

export class QueueDirs {
  readonly root: string
  readonly tmp: string
  readonly new: string
  readonly delay: string
  readonly cur: string
  readonly done: string
  readonly dead: string
  readonly bad: string
  readonly keys: string
  /** The pause marker (admin.ts): present while the queue is paused. */
  readonly paused: string
  /** Modes for what is created in this queue (private, or shared with the spool root's group). */
  readonly perms: Perms

  constructor(
    readonly spool: string,
    readonly name: string,
  ) {
    validateQueueName(name)
    this.perms = permsFor(spool)
    this.root = join(spool, name)
    this.tmp = join(this.root, 'tmp')
    this.new = join(this.root, 'new')
    this.delay = join(this.root, 'delay')
    this.cur = join(this.root, 'cur')
    this.done = join(this.root, 'done')
    this.dead = join(this.root, 'dead')
    this.bad = join(this.root, 'bad')
    this.keys = join(this.root, 'keys')
    this.paused = join(this.root, 'paused')
  }
}
