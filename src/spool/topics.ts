import {lstatSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {NoSubscribersError, NotSubscribedError, SpoolDamageError, ioError, isErrno} from '../errors.js'
import {createQueue, ensureSpoolRoot} from './create-queue.js'
import {createFile, ensureDir, fsyncPath, kindOf, listEntries} from './fs.js'
import {QueueDirs, validateQueueName} from './layout.js'
import {deliver, type Pushed, type PushInput, type PushOptions} from './push.js'

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
  const st = lstatSync(dir, {throwIfNoEntry: false})
  if (!st) return undefined
  checkTopicDir(dir, st)
  // Each subscriber is an empty regular file named like a queue; anything else is ignored.
  return listEntries(join(dir, 'subscribers'))
    .filter((e) => e.isFile())
    .map((e) => e.name)
}

/** A topic's directories must be real directories: mq never follows a link inside a spool. */
function checkTopicDir(dir: string, st = lstatSync(dir, {throwIfNoEntry: false})): void {
  for (const [path, s] of [
    [dir, st],
    [join(dir, 'subscribers'), lstatSync(join(dir, 'subscribers'), {throwIfNoEntry: false})],
    [join(dir, 'tmp'), lstatSync(join(dir, 'tmp'), {throwIfNoEntry: false})],
    [join(dir, 'keys'), lstatSync(join(dir, 'keys'), {throwIfNoEntry: false})],
  ] as const) {
    if (s && !s.isDirectory()) throw new SpoolDamageError(path, `is a ${kindOf(s)}, not a directory; mq does not follow links inside a spool`, 'move it away')
  }
}

/** subscribe: the queue gets a copy of every later push to the topic. Idempotent; durable. */
export function subscribe(spool: string, topic: string, queue: string): boolean {
  ensureSpoolRoot(spool)
  const q = new QueueDirs(spool, queue)
  createQueue(q)
  checkTopicDir(topicDir(spool, topic))
  const dir = join(topicDir(spool, topic), 'subscribers')
  const touched = ensureDir(dir, q.perms)
  const path = join(dir, queue)
  let created = true
  try {
    createFile(path, '', q.perms)
  } catch (error) {
    if (!isErrno(error, 'EEXIST') && !isErrno((error as {cause?: unknown}).cause, 'EEXIST')) throw error
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

/** pushToTopic: one durable write, one hard link per subscriber (see deliver in push.ts). */
export async function pushToTopic(spool: string, topic: string, subscribers: string[], inputs: PushInput[], opts: PushOptions = {}): Promise<Pushed[]> {
  if (subscribers.length === 0) throw new NoSubscribersError(topic)
  const targets = subscribers.map((s) => new QueueDirs(spool, s))
  const dir = topicDir(spool, topic)
  checkTopicDir(dir)
  return deliver(join(dir, 'tmp'), join(dir, 'keys'), targets, inputs, {...opts, topic})
}

/** The names that are topics (have a topic directory). */
export function topicNames(spool: string): string[] {
  return listEntries(join(spool, '.topics'))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
}

