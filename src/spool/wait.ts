import {type FSWatcher, watch} from 'node:fs'
import {join} from 'node:path'

import {createQueue} from './create-queue.js'
import {listDir} from './fs.js'
import {QueueDirs} from './layout.js'
import {exactNextDue} from './promote.js'
import {exactNextLeaseExpiry} from './reclaim.js'

/** How often a waiter looks again with no event: inotify can miss events (NFS, overflow). */
export const POLL_MS = 1000

/**
 * A wake-up for claims that wait: inotify watches (fs.watch) on every directory of new/ (few,
 * since only an empty queue is waited on), a timer for the next delayed message or lease
 * expiry, and a slow poll. The caller arms it, tries to claim once more (so a message that
 * arrived before the watches existed is not missed), and only then waits.
 */
export class Wakeup {
  private readonly watchers: FSWatcher[] = []
  private wake?: () => void
  private fired = false

  constructor(q: QueueDirs) {
    createQueue(q)
    // The queue directory too: a resume (the pause marker's removal) must wake a waiter.
    for (const dir of [q.root, ...dirsBelow(q.new, 3)]) {
      try {
        const w = watch(dir, {persistent: false}, () => this.fire())
        w.on('error', () => this.fire())
        this.watchers.push(w)
      } catch {
        // Vanished between readdir and watch (a drained bucket): the poll covers it.
      }
    }
    this.timeHint = [exactNextDue(q), exactNextLeaseExpiry(q)].filter((t): t is number => t !== undefined)
  }

  /** The earliest time something will become ready without a push (delays, leases). */
  readonly timeHint: number[]

  /** Resolves on an event, at the next timed wake-up, after POLL_MS, at `until`, or on abort. */
  async wait(until: number, signal?: AbortSignal): Promise<void> {
    if (this.fired || signal?.aborted) return
    const now = Date.now()
    const wakeAt = Math.min(until, now + POLL_MS, ...this.timeHint.map((t) => t + 1))
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, wakeAt - now))
      signal?.addEventListener('abort', done, {once: true})
      this.wake = done
    })
  }

  close(): void {
    for (const w of this.watchers) w.close()
    this.watchers.length = 0
  }

  private fire(): void {
    this.fired = true
    this.wake?.()
  }
}

function dirsBelow(dir: string, depth: number): string[] {
  const out = [dir]
  if (depth > 0) for (const n of listDir(dir)) out.push(...dirsBelow(join(dir, n), depth - 1))
  return out
}
