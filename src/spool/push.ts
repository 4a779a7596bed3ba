import {closeSync, fsyncSync, linkSync, writeSync} from 'node:fs'
import {basename, join} from 'node:path'

import {type BodySource, type Pushed, type PushInput} from '../backend.js'
import {ioError, isErrno, NoInputError, QueueFullError} from '../errors.js'
import {DEFAULT_KEY_TTL_MS} from '../policy.js'
import {readQueueConfig} from './config.js'
import {createQueue} from './create-queue.js'
import {countDepth} from './depth.js'
import {ensureDir, fsyncPath, MOVE_RETRIES, moveFile, openExclusive, type Perms, syncFilesystem, unlinkQuietly} from './fs.js'
import {encodeHeader, hasHeaderFields, type MessageHeader} from './header.js'
import {crashPoint} from './crash-point.js'
import {claimKey} from './keys.js'
import {QueueDirs} from './layout.js'
import {newMessageId} from '../message-id.js'
import {formatName, type MessageName} from './message-name.js'
import {delayDir, readyDir} from './paths.js'

export type {BodySource, Pushed, PushInput}

export interface PushOptions {
  now?: number
  /** Idempotency: with a single message, no second message while this key is held. */
  keyTtlMs?: number
  /** Set on every message (fan-out copies carry their topic). */
  topic?: string
}

export const BULK_SYNC_MIN = 8

/**
 * pushMessages: durably enqueue a batch of messages into one queue; returns them in input order.
 * See deliver() for the protocol.
 */
export async function pushMessages(q: QueueDirs, inputs: PushInput[], opts: PushOptions = {}): Promise<Pushed[]> {
  return deliver(q.tmp, q.keys, [q], inputs, opts)
}

interface Staged {
  m: MessageName
  tmp: string
}

/**
 * deliver: the push protocol, for one queue or (fan-out) for every subscriber of a topic.
 *
 * 0. Bounded queues: if a target has max-depth and ready + delayed + in-flight + this batch
 *    would pass it, QueueFullError and nothing is written. The check and the renames are not
 *    one atomic step: producers racing at the bound can pass it by what they push meanwhile.
 * 1. Each message is written to TMP/NAME, created with O_EXCL (a collision fails instead of
 *    overwriting; a symlink is never followed), with the spool's file mode, and its data made
 *    durable: one fsync per file, or for a batch of BULK_SYNC_MIN or more, one syncfs of the
 *    filesystem after all are written (same guarantee, one disk flush instead of N). A streamed
 *    body is copied as it arrives. If any write fails, every tmp file of this batch is unlinked
 *    and the error is thrown: nothing became visible.
 * 2. With a key: the key is claimed (keys.ts). If another message holds it, the tmp file is
 *    unlinked and that message's id returned with duplicate: true.
 * 3. Each message is renamed into new/P/B7/B10/NAME (or delay/B7/B10/NAME) of its queue;
 *    rename(2) is atomic, so a consumer sees the whole message or nothing. For a topic, it is
 *    instead hard-linked into every subscriber's queue (one write, N links: each subscriber
 *    claims and acks its own directory entry independently), then the tmp name is unlinked.
 *    A producer killed before this step leaves only a tmp/ file, which no consumer reads and
 *    `mq gc` removes (and a key that the next push with it, or gc, finds abandoned).
 * 4. Every directory that gained an entry is fsynced, once per batch, and only then does this
 *    return, so every id the caller prints is on disk.
 *
 * If a rename fails (a full disk when a bucket must be made, an I/O error), a key taken in 2 is
 * released first, then the tmp files of what was not filed are unlinked: a failed push leaves
 * nothing behind and holds nothing. The messages already filed are synced and returned in
 * `error.pushed` so the caller can still report them.
 */
export async function deliver(tmpDir: string, keysDir: string, targets: QueueDirs[], inputs: PushInput[], opts: PushOptions = {}): Promise<Pushed[]> {
  const now = opts.now ?? Date.now()
  const perms = targets[0].perms
  const key = inputs[0]?.key
  // Encoded first: a header that is too large is a usage error before anything is written.
  const headers = inputs.map((i) => {
    const h: MessageHeader = {expiresAt: i.expiresAt, headers: i.headers, key: i.key, topic: opts.topic}
    return hasHeaderFields(h) ? encodeHeader(h) : undefined
  })
  for (const t of targets) createQueue(t)
  for (const t of targets) {
    const max = readQueueConfig(t).maxDepth
    if (max !== undefined) {
      const depth = countDepth(t, max)
      if (depth + inputs.length > max) throw new QueueFullError(t.name, depth, max)
    }
  }

  ensureDir(tmpDir, perms)
  const staged: Staged[] = []
  const bulk = inputs.length >= BULK_SYNC_MIN
  try {
    for (const [i, input] of inputs.entries()) {
      const header = headers[i]
      const m: MessageName = {
        attempt: 0,
        header: Boolean(header),
        id: newMessageId(now),
        notBefore: input.notBefore !== undefined && input.notBefore > now ? input.notBefore : undefined,
        priority: input.priority ?? 0,
      }
      const tmp = join(tmpDir, formatName(m))
      const fd = openExclusive(tmp, perms)
      staged.push({m, tmp})
      await writeBody(fd, tmp, header, input, !bulk)
    }
    // Data before names: nothing is renamed into view until its bytes are on disk.
    if (bulk && !syncFilesystem(tmpDir)) for (const s of staged) fsyncPath(s.tmp)
  } catch (error) {
    for (const s of staged) unlinkQuietly(s.tmp)
    throw error
  }

  let releaseKey: (() => void) | undefined
  if (key !== undefined) {
    let claimed
    try {
      claimed = claimKey(keysDir, tmpDir, key, {id: staged[0].m.id, tmp: basename(staged[0].tmp)}, opts.keyTtlMs ?? DEFAULT_KEY_TTL_MS, perms, now)
    } catch (error) {
      unlinkQuietly(staged[0].tmp)
      throw error
    }
    if ('held' in claimed) {
      unlinkQuietly(staged[0].tmp)
      return [{duplicate: true, id: claimed.held.id, state: 'ready'}]
    }
    releaseKey = claimed.release
    crashPoint('push:key-taken')
  }

  const dirty = new Set<string>()
  const pushed: Pushed[] = []
  try {
    for (const s of staged) {
      const name = formatName(s.m)
      for (const t of targets) {
        const dir = s.m.notBefore === undefined ? readyDir(t, s.m) : delayDir(t, s.m.notBefore)
        const created: string[] = []
        if (targets.length === 1) {
          if (!moveFile(s.tmp, dir, name, created, perms)) throw ioError('rename', s.tmp, Object.assign(new Error('the staged file vanished before its rename'), {code: 'ENOENT'}))
        } else {
          linkInto(s.tmp, dir, name, created, perms)
        }
        dirty.add(dir)
        for (const d of created) dirty.add(d)
      }
      pushed.push({id: s.m.id, state: s.m.notBefore === undefined ? 'ready' : 'delayed'})
    }
  } catch (error) {
    // Give back what was taken before anything else: a key must not name a message that
    // never became visible. (A single message with a key: nothing was filed.)
    if (pushed.length === 0) releaseKey?.()
    for (const s of staged.slice(pushed.length)) unlinkQuietly(s.tmp)
    for (const d of dirty) {
      try {
        fsyncPath(d)
      } catch {
        // the push failed already; report that
      }
    }
    throw Object.assign(ioError('rename', tmpDir, error), {pushed})
  }
  for (const d of dirty) fsyncPath(d)
  if (targets.length > 1) for (const s of staged) unlinkQuietly(s.tmp)
  return pushed
}

/** link(2) src as destDir/name, making destDir if a consumer removed it (see moveFile). */
function linkInto(src: string, destDir: string, name: string, created: string[], perms: Perms): void {
  for (let tries = 0; ; tries++) {
    try {
      linkSync(src, join(destDir, name))
      return
    } catch (error) {
      if (!isErrno(error, 'ENOENT') || tries >= MOVE_RETRIES) throw ioError('link', join(destDir, name), error)
      created.push(...ensureDir(destDir, perms))
    }
  }
}

/**
 * Writes the header line and the body to an open tmp file, fsyncs it (unless the batch is
 * synced as a whole) and closes it. A streamed body is written chunk by chunk as it arrives.
 */
async function writeBody(fd: number, path: string, header: Buffer | undefined, input: PushInput, fsync: boolean): Promise<void> {
  let size = 0
  try {
    if (header) writeAll(fd, header)
    if (input.body instanceof Uint8Array) {
      writeAll(fd, input.body)
      size = input.body.length
    } else {
      for await (const chunk of input.body) {
        writeAll(fd, chunk)
        size += chunk.length
      }
      if (size === 0 && !input.allowEmpty) throw new NoInputError('empty message body on stdin', 'pass --allow-empty to push an empty message')
    }
    if (fsync) fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    throw ioError('write', path, error)
  }
  closeSync(fd)
}

function writeAll(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off)
}
