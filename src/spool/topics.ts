import {unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {MqError, NotSubscribedError, ioError, isErrno} from '../errors.js'
import {EXIT} from '../exit-codes.js'
import {createQueue} from './create-queue.js'
import {ensureDir, fsyncPath, listDir, listSorted} from './fs.js'
import {QueueDirs, validateQueueName} from './layout.js'
import {deliver, type PushedMessage, type PushInput, type PushOptions} from './push.js'

/**
 * Topics (fan-out). A topic is SPOOL/.topics/TOPIC/ (a name no queue can have), with
 *   subscribers/QUEUE   one empty file per subscribed queue
 *   tmp/                where a push to the topic writes its message once
 *   keys/               the topic's idempotency keys
 * A push to a name that has a topic directory goes to every subscriber instead of a queue of
 * that name; a name that was never subscribed to is a plain queue.
 */
export function topicDir(spool: string, topic: string): string {
  return join(spool, '.topics', validateQueueName(topic))
}

/**
 * The subscribed queues, or undefined when `name` is not a topic. Every push asks, so a plain
 * queue costs one readdir (ENOENT) here.
 */
export function subscribersOf(spool: string, name: string): string[] | undefined {
  const dir = topicDir(spool, name)
  if (listDir(dir).length === 0) return undefined
  return listSorted(join(dir, 'subscribers'))
}

/** subscribe: the queue gets a copy of every later push to the topic. Idempotent; durable. */
export function subscribe(spool: string, topic: string, queue: string): boolean {
  const q = new QueueDirs(spool, queue)
  createQueue(q)
  const dir = join(topicDir(spool, topic), 'subscribers')
  const touched = ensureDir(dir)
  const path = join(dir, queue)
  let created = true
  try {
    writeFileSync(path, '', {flag: 'wx'})
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw ioError('create', path, error)
    created = false
  }
  for (const d of new Set([...touched, dir])) fsyncPath(d)
  return created
}

/** unsubscribe: later pushes no longer reach the queue; what it already has stays. */
export function unsubscribe(spool: string, topic: string, queue: string): void {
  const path = join(topicDir(spool, topic), 'subscribers', validateQueueName(queue))
  try {
    unlinkSync(path)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) throw new NotSubscribedError(topic, queue)
    throw ioError('unlink', path, error)
  }
}

/** A push to a topic that has no subscribers (any more): nothing is written. */
export class NoSubscribersError extends MqError {
  constructor(topic: string) {
    super('no_subscribers', EXIT.UNAVAILABLE, `${topic}: topic has no subscribers; nothing was pushed`, `mq subscribe ${topic} QUEUE`)
  }
}

/** pushToTopic: one durable write, one hard link per subscriber (see deliver in push.ts). */
export function pushToTopic(spool: string, topic: string, subscribers: string[], inputs: PushInput[], opts: PushOptions = {}): PushedMessage[] {
  if (subscribers.length === 0) throw new NoSubscribersError(topic)
  const targets = subscribers.map((s) => new QueueDirs(spool, s))
  for (const t of targets) createQueue(t)
  const dir = topicDir(spool, topic)
  const withTopic = inputs.map((i) => ({...i, header: {...i.header, topic}}))
  return deliver(join(dir, 'tmp'), join(dir, 'keys'), targets, withTopic, opts)
}
