import {closeSync, fsyncSync, linkSync, openSync, unlinkSync, writevSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, isErrno, QueueFullError, UsageError} from '../errors.js'
import {readQueueConfig} from './config.js'
import {createQueue} from './create-queue.js'
import {countDepth} from './depth.js'
import {ensureDir, fsyncPath, MOVE_RETRIES, moveFile, syncFilesystem} from './fs.js'
import {encodeHeader, hasHeaderFields, type MessageHeader} from './header.js'
import {claimKey} from './keys.js'
import {QueueDirs} from './layout.js'
import {newMessageId} from './message-id.js'
import {formatName, type MessageName} from './message-name.js'
import {delayDir, readyDir} from './paths.js'

export interface PushInput {
  body: Uint8Array
  /** 0..9, larger is claimed first. */
  priority?: number
  /** ms since epoch; the message is filed in delay/ until then. */
  notBefore?: number
  header?: MessageHeader
}

export interface PushOptions {
  now?: number
  /** Idempotency: with a single message, no second message while this key is held. */
  keyTtlMs?: number
}

export interface PushedMessage {
  id: string
  name: string
  /** Where the message was filed: 'new' (ready) or 'delay'. */
  state: 'delay' | 'new'
  /** True when --key matched an earlier message: nothing was written and `id` is the earlier one's. */
  duplicate?: boolean
}

export const BULK_SYNC_MIN = 8
export const DEFAULT_KEY_TTL_MS = 24 * 3600 * 1000

/**
 * pushMessages: durably enqueue a batch of messages into one queue; returns them in input order.
 * See deliver() for the protocol.
 */
export function pushMessages(q: QueueDirs, inputs: PushInput[], opts: PushOptions = {}): PushedMessage[] {
  createQueue(q)
  return deliver(q.tmp, join(q.root, 'keys'), [q], inputs, opts)
}

/**
 * deliver: the push protocol, for one queue or (fan-out) for every subscriber of a topic.
 *
 * 0. Bounded queues: if a target has max-depth and ready + delayed + in-flight + this batch
 *    would pass it, QueueFullError and nothing is written. The check and the renames are not
 *    one atomic step: producers racing at the bound can pass it by what they push meanwhile.
 * 1. Each message is written to TMP/NAME, created with O_EXCL (a collision fails instead of
 *    overwriting), and its data made durable: one fsync per file, or for a batch of
 *    BULK_SYNC_MIN or more, one syncfs of the filesystem after all are written (same guarantee,
 *    one disk flush instead of N). If any write fails, every tmp file of this batch is
 *    unlinked and the error is thrown: nothing became visible.
 * 2. With a key: the key is claimed (keys.ts, an exclusive link). If another message holds it,
 *    the tmp file is unlinked and that message's id returned with duplicate: true.
 * 3. Each message is renamed into new/P/B7/B10/NAME (or delay/B7/B10/NAME) of its queue;
 *    rename(2) is atomic, so a consumer sees the whole message or nothing. For a topic, it is
 *    instead hard-linked into every subscriber's queue (one write, N links: each subscriber
 *    claims and acks its own directory entry independently), then the tmp name is unlinked.
 *    A producer killed before this step leaves only a tmp/ file, which no consumer reads and
 *    `mq gc` removes.
 * 4. Every directory that gained an entry is fsynced, once per batch, and only then does this
 *    return, so every id the caller prints is on disk.
 *
 * If a rename fails mid-batch, the messages already filed are synced and returned in
 * `error.pushed` so the caller can still report them; the rest are unlinked from tmp/.
 */
export function deliver(tmpDir: string, keysDir: string, targets: QueueDirs[], inputs: PushInput[], opts: PushOptions = {}): PushedMessage[] {
  const now = opts.now ?? Date.now()
  const key = inputs[0]?.header?.key
  if (key !== undefined && inputs.length !== 1) throw new UsageError('an idempotency key applies to one message at a time')
  for (const t of targets) {
    const max = readQueueConfig(t).maxDepth
    if (max !== undefined) {
      const depth = countDepth(t, max)
      if (depth + inputs.length > max) throw new QueueFullError(t.name, depth, max)
    }
  }

  ensureDir(tmpDir)
  const staged: Array<{m: MessageName; tmp: string}> = []
  const bulk = inputs.length >= BULK_SYNC_MIN
  try {
    for (const input of inputs) {
      const header = hasHeaderFields(input.header) ? encodeHeader(input.header) : undefined
      const m: MessageName = {
        attempt: 0,
        header: Boolean(header),
        id: newMessageId(now),
        notBefore: input.notBefore !== undefined && input.notBefore > now ? input.notBefore : undefined,
        priority: input.priority ?? 0,
      }
      const tmp = join(tmpDir, formatName(m))
      writeExclusive(tmp, header ? [header, input.body] : [input.body], !bulk)
      staged.push({m, tmp})
    }
    // Data before names: nothing is renamed into view until its bytes are on disk.
    if (bulk && !syncFilesystem(tmpDir)) for (const s of staged) fsyncPath(s.tmp)
  } catch (error) {
    for (const s of staged) unlinkQuietly(s.tmp)
    throw error
  }

  if (key !== undefined) {
    const claimed = claimKey(keysDir, key, staged[0].m.id, opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS, now)
    if ('held' in claimed) {
      unlinkQuietly(staged[0].tmp)
      return [{duplicate: true, id: claimed.held.id, name: claimed.held.id, state: 'new'}]
    }
  }

  const dirty = new Set<string>()
  const pushed: PushedMessage[] = []
  try {
    for (const s of staged) {
      const name = formatName(s.m)
      for (const t of targets) {
        const dir = s.m.notBefore === undefined ? readyDir(t, s.m) : delayDir(t, s.m.notBefore)
        const created: string[] = []
        if (targets.length === 1) {
          if (!moveFile(s.tmp, dir, name, created)) throw new Error(`tmp file vanished before rename: ${s.tmp}`)
        } else {
          linkInto(s.tmp, dir, name, created)
        }
        dirty.add(dir)
        for (const d of created) dirty.add(d)
      }
      pushed.push({id: s.m.id, name, state: s.m.notBefore === undefined ? 'new' : 'delay'})
    }
  } catch (error) {
    for (const s of staged.slice(pushed.length)) unlinkQuietly(s.tmp)
    for (const d of dirty) fsyncPath(d)
    throw Object.assign(ioError('rename', tmpDir, error), {pushed})
  }
  for (const d of dirty) fsyncPath(d)
  if (targets.length > 1) for (const s of staged) unlinkQuietly(s.tmp)
  return pushed
}

/** link(2) src as destDir/name, making destDir if a consumer removed it (see moveFile). */
function linkInto(src: string, destDir: string, name: string, created: string[]): void {
  for (let tries = 0; ; tries++) {
    try {
      linkSync(src, join(destDir, name))
      return
    } catch (error) {
      if (!isErrno(error, 'ENOENT') || tries >= MOVE_RETRIES) throw ioError('link', join(destDir, name), error)
      created.push(...ensureDir(destDir))
    }
  }
}

/** Exclusive create, write every chunk, fsync (when asked), close. */
function writeExclusive(path: string, chunks: Uint8Array[], fsync: boolean): void {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o644)
  } catch (error) {
    throw ioError('create', path, error)
  }
  try {
    let pending = chunks.filter((c) => c.length > 0)
    while (pending.length > 0) {
      let n = writevSync(fd, pending)
      // Short writes: drop what was written and go on with the rest.
      while (n > 0 && pending.length > 0) {
        if (n >= pending[0].length) {
          n -= pending[0].length
          pending = pending.slice(1)
        } else {
          pending = [pending[0].subarray(n), ...pending.slice(1)]
          n = 0
        }
      }
    }
    if (fsync) fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    unlinkQuietly(path)
    throw ioError('write', path, error)
  }
  closeSync(fd)
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}
