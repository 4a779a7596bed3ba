import {mkdirSync, renameSync, rmSync, symlinkSync, utimesSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {delayBucket, oldId, readyBucket, snapshot, victimDir} from '../../support/damage.js'
import {mq, tempSpool} from '../../support/helpers.js'

const T = {timeoutMs: 10_000}

/**
 * Outside the spool: a directory with files named like messages (so a confused mq would
 * claim, promote, reclaim, gc or purge them) and one that is not. Every case plants a symlink
 * into a queue pointing there, runs the commands that used to follow it, and checks that
 * nothing out there was moved, read into a message, created or deleted, and that the queue
 * still works.
 */
function victim() {
  const past = Date.now() - 120_000
  const names = [oldId(120_000, '00000000000000aa'), `${oldId(120_000, '00000000000000bb')},a1,l${past}`, `${oldId(120_000, '00000000000000cc')},n${past}`, 'passwd']
  const dir = victimDir(names)
  // Old enough for gc to remove, were it to look there.
  for (const n of names) utimesSync(join(dir, n), new Date(past - 7_200_000), new Date(past - 7_200_000))
  return {before: snapshot(dir), dir}
}

async function queue(): Promise<{id: string; spool: string}> {
  const spool = tempSpool()
  const id = (await mq(spool, ['push', 'q', 'good'], T)).out.trim()
  return {id, spool}
}

/** Replaces the directory at `path` (made if missing) by a symlink to `target`. */
function plantDirLink(path: string, target: string): void {
  rmSync(path, {force: true, recursive: true})
  mkdirSync(join(path, '..'), {recursive: true})
  symlinkSync(target, path)
}

/** The commands that walk, read, create or delete in a queue; none may act through a link. */
async function exercise(spool: string): Promise<void> {
  for (const args of [
    ['push', 'q', 'pushed'],
    ['pop', 'q', '--json'],
    ['pop', 'q', '--json'],
    ['peek', 'q', '--state', 'dead'],
    ['peek', 'q', '--state', 'done'],
    ['peek', 'q', '--state', 'delayed'],
    ['stats', 'q'],
    ['gc', '--force', '--done-older-than', '0s', '--tmp-older-than', '0s'],
    ['purge', 'q', '--state', 'dead', '--state', 'done', '--state', 'delayed', '--force'],
    ['requeue', 'q'],
  ]) {
    const r = await mq(spool, args, T)
    expect(r.timedOut, `${args.join(' ')} hung`).toBe(false)
    expect(r.stderr, args.join(' ')).not.toMatch(/precious/)
    expect(r.out, args.join(' ')).not.toMatch(/precious/)
  }
}

describe('symlinks planted in a spool are never followed', () => {
  const stateDirs = ['tmp', 'new', 'delay', 'cur', 'done', 'dead', 'keys']
  for (const state of stateDirs) {
    it(`a symlink in place of ${state}/ is quarantined and replaced; nothing outside is touched`, async () => {
      const {spool} = await queue()
      const v = victim()
      // Keep the good message: move it aside and back after planting (new/ is replaced).
      plantDirLink(join(spool, 'q', state), v.dir)
      await exercise(spool)
      expect(snapshot(v.dir)).toEqual(v.before)
      const s = JSON.parse((await mq(spool, ['stats', 'q', '--json'], T)).out)
      expect(s.bad).toBeGreaterThanOrEqual(1) // the link itself, set aside in bad/
      const push = await mq(spool, ['push', 'q', 'still works'], T)
      expect(push.code).toBe(0)
    })
  }

  for (const state of ['new', 'cur', 'delay']) {
    it(`a claim that is the first to meet a symlink in place of ${state}/ does not walk it`, async () => {
      const {spool} = await queue()
      const v = victim()
      plantDirLink(join(spool, 'q', state), v.dir)
      for (const args of [['pop', 'q'], ['pop', 'q', '--wait', '300ms'], ['consume', 'q', '--once', '--exec', 'true']]) {
        const r = await mq(spool, args, T)
        expect(r.timedOut, args.join(' ')).toBe(false)
        expect(r.out + r.stderr, args.join(' ')).not.toMatch(/precious/)
      }
      expect(snapshot(v.dir)).toEqual(v.before)
    })
  }

  it('a symlink in place of bad/ is a clear error (78), and nothing is moved through it', async () => {
    const {spool} = await queue()
    const v = victim()
    plantDirLink(join(spool, 'q', 'bad'), v.dir)
    const r = await mq(spool, ['push', 'q', 'x'], T)
    expect(r.code).toBe(78)
    expect(r.stderr).toMatch(/bad: is a symbolic link, not a directory; mq does not follow links inside a spool/)
    expect(snapshot(v.dir)).toEqual(v.before)
  })

  it("a symlink in place of a queue's directory is a clear error (78)", async () => {
    const spool = tempSpool()
    const v = victim()
    symlinkSync(v.dir, join(spool, 'q'))
    for (const args of [['push', 'q', 'x'], ['pop', 'q']]) {
      const r = await mq(spool, args, T)
      expect(r.code, args.join(' ')).toBe(78)
    }
    expect(snapshot(v.dir)).toEqual(v.before)
  })

  const buckets: Array<[string, (spool: string, id: string) => string]> = [
    ['the priority directory new/0', (s) => join(s, 'q', 'new', '0')],
    ['a B7 bucket of new/', (s) => join(s, 'q', 'new', '0', oldId(2 * 3_600_000).slice(0, 7))],
    ['a B10 bucket of new/', (s) => readyBucket(s, 'q', oldId(120_000))],
    ['a B7 bucket of delay/', (s) => join(s, 'q', 'delay', oldId(2 * 3_600_000).slice(0, 7))],
    ['a B10 bucket of delay/', (s) => delayBucket(s, 'q', Date.now() - 120_000)],
  ]
  for (const [what, where] of buckets) {
    it(`a symlink as ${what} is quarantined, not walked`, async () => {
      const {id, spool} = await queue()
      const v = victim()
      const path = where(spool, id)
      if (path.endsWith(join('new', '0'))) {
        // Keep the good message out of the way while new/0 is replaced, then file it under new/1.
        renameSync(readyBucket(spool, 'q', id), join(spool, 'kept'))
        plantDirLink(path, v.dir)
        mkdirSync(join(spool, 'q', 'new', '1', id.slice(0, 7)), {recursive: true})
        renameSync(join(spool, 'kept'), join(spool, 'q', 'new', '1', id.slice(0, 7), id.slice(0, 10)))
        renameSync(join(spool, 'q', 'new', '1', id.slice(0, 7), id.slice(0, 10), id), join(spool, 'q', 'new', '1', id.slice(0, 7), id.slice(0, 10), `${id},p1`))
      } else plantDirLink(path, v.dir)
      const pop = await mq(spool, ['pop', 'q', '--json'], T)
      expect(pop.code, pop.stderr).toBe(0)
      expect(JSON.parse(pop.out).body).toBe('good')
      await exercise(spool)
      expect(snapshot(v.dir)).toEqual(v.before)
    })
  }

  const files: Array<[string, (spool: string) => string]> = [
    ['a ready message', (s) => join(readyBucket(s, 'q', oldId(120_000)), oldId(120_000))],
    ['a claimed message in cur/ (an expired receipt)', (s) => join(s, 'q', 'cur', `${oldId(120_000)},a1,l${Date.now() - 60_000}`)],
    ['a dead letter', (s) => join(s, 'q', 'dead', oldId(120_000))],
    ['a done message', (s) => join(s, 'q', 'done', oldId(120_000))],
  ]
  for (const [what, where] of files) {
    it(`a symlink as ${what} is never opened through, and deleting it never deletes its target`, async () => {
      const {spool} = await queue()
      const v = victim()
      const path = where(spool)
      mkdirSync(join(path, '..'), {recursive: true})
      symlinkSync(join(v.dir, 'passwd'), path)
      const pop = await mq(spool, ['pop', 'q', '--json'], T)
      expect(pop.code, pop.stderr).toBe(0)
      expect(JSON.parse(pop.out).body).toBe('good')
      await exercise(spool)
      expect(snapshot(v.dir)).toEqual(v.before)
    })
  }
})
