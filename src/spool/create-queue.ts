import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {ensureDir, fsyncPath} from './fs.js'
import {QueueDirs, STATES} from './layout.js'

const known = new Set<string>()

/**
 * createQueue: make the queue's state directories (idempotent, safe to race: mkdir -p).
 * Durable: every directory that gained an entry is fsynced, so a queue that a push reported
 * does not vanish in a power cut. Cached per process after the first call.
 */
export function createQueue(q: QueueDirs): void {
  if (known.has(q.root)) return
  if (!existsSync(join(q.root, 'bad'))) {
    const touched = new Set<string>()
    for (const state of STATES) for (const d of ensureDir(join(q.root, state))) touched.add(d)
    for (const d of touched) fsyncPath(d)
  }
  known.add(q.root)
}

export function queueExists(q: QueueDirs): boolean {
  return existsSync(q.new)
}
