import {closeSync, fsyncSync, openSync, unlinkSync, writevSync} from 'node:fs'
import {join} from 'node:path'

import {ioError} from '../errors.js'
import {createQueue} from './create-queue.js'
import {fsyncDir, fsyncFile, moveFile, syncFilesystem} from './fs.js'
import {encodeHeader, hasHeaderFields, type MessageHeader} from './header.js'
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

export interface PushedMessage {
  id: string
  name: string
  /** Where the message was filed: 'new' (ready) or 'delay'. */
  state: 'delay' | 'new'
}

/**
 * pushMessages: durably enqueue a batch of messages; returns them in input order.
 *
 * 1. Each message is written to tmp/NAME, created with O_EXCL (a collision fails instead of
 *    overwriting), and its data made durable: one fsync per file, or for a batch of
 *    BULK_SYNC_MIN or more, one syncfs of the filesystem after all are written (same guarantee,
 *    one disk flush instead of N). If any write fails, every tmp file of this batch is
 *    unlinked and the error is thrown: nothing became visible.
 * 2. Each is renamed into new/P/B7/B10/NAME (or delay/B7/B10/NAME). rename(2) is atomic: a
 *    consumer sees the whole message or nothing. A producer killed before this step leaves only
 *    a tmp/ file, which no consumer reads and `mq gc` removes.
 * 3. Every directory that gained an entry is fsynced, once per batch, and only then does this
 *    return, so every id the caller prints is on disk.
 *
 * If a rename fails mid-batch, the messages already renamed are synced and returned in
 * `error.pushed` so the caller can still report them; the rest are unlinked from tmp/.
 */
export const BULK_SYNC_MIN = 8

export function pushMessages(q: QueueDirs, inputs: PushInput[], now: number = Date.now()): PushedMessage[] {
  createQueue(q)
  const staged: Array<{dir: string; m: MessageName; tmp: string}> = []
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
      const name = formatName(m)
      const tmp = join(q.tmp, name)
      writeExclusive(tmp, header ? [header, input.body] : [input.body], !bulk)
      staged.push({dir: m.notBefore === undefined ? readyDir(q, m) : delayDir(q, m.notBefore), m, tmp})
    }
    // Data before names: nothing is renamed into view until its bytes are on disk.
    if (bulk && !syncFilesystem(q.tmp)) for (const s of staged) fsyncFile(s.tmp)
  } catch (error) {
    for (const s of staged) unlinkQuietly(s.tmp)
    throw error
  }

  const dirty = new Set<string>()
  const pushed: PushedMessage[] = []
  try {
    for (const s of staged) {
      const created: string[] = []
      const name = formatName(s.m)
      if (!moveFile(s.tmp, s.dir, name, created)) throw new Error(`tmp file vanished before rename: ${s.tmp}`)
      dirty.add(s.dir)
      for (const d of created) dirty.add(d)
      pushed.push({id: s.m.id, name, state: s.m.notBefore === undefined ? 'new' : 'delay'})
    }
  } catch (error) {
    for (const s of staged.slice(pushed.length)) unlinkQuietly(s.tmp)
    for (const d of dirty) fsyncDir(d)
    throw Object.assign(ioError('rename', q.tmp, error), {pushed})
  } 
  for (const d of dirty) fsyncDir(d)
  return pushed
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
