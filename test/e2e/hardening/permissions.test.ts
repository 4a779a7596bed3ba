import {spawnSync} from 'node:child_process'
import {chmodSync, lstatSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {otherUser} from '../../support/damage.js'
import {BIN, FIXTURES, mq, run, tempSpool} from '../../support/helpers.js'

const T = {timeoutMs: 10_000}

/** Runs mq under a given umask, as a user's shell would. */
function mqUmask(spool: string, umask: string, args: string[], input?: string) {
  return run('sh', ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, BIN, ...args], {env: {MQ_SPOOL: spool}, input, timeoutMs: 10_000})
}

/** Every entry under dir with its permission bits (symlinks excluded: their mode means nothing). */
function modes(dir: string): Array<{mode: number; path: string; type: 'd' | 'f'}> {
  const out: Array<{mode: number; path: string; type: 'd' | 'f'}> = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, e.name)
      if (e.isDirectory()) {
        out.push({mode: lstatSync(p).mode & 0o7777, path: p, type: 'd'})
        walk(p)
      } else if (e.isFile()) out.push({mode: lstatSync(p).mode & 0o7777, path: p, type: 'f'})
    }
  }
  out.push({mode: lstatSync(dir).mode & 0o7777, path: dir, type: 'd'})
  walk(dir)
  return out
}

/** A bit of everything a spool holds: messages in every state, keys, reasons, config, topics. */
async function populate(spool: string, umask: string): Promise<void> {
  const steps: Array<[string[], string?]> = [
    [['push', 'q', 'a']],
    [['push', 'q', 'b', '--key', 'k', '-H', 'x=1']],
    [['push', 'q', '--batch'], Array.from({length: 20}, (_, i) => `m${i}`).join('\n')],
    [['push', 'q', 'later', '--delay', '1h']],
    [['pop', 'q']],
    [['config', 'q', '--max-depth', '100']],
    [['subscribe', 't', 'q']],
    [['push', 't', 'fanned out']],
    [['pause', 'q']],
    [['resume', 'q']],
  ]
  for (const [args, input] of steps) {
    const r = await mqUmask(spool, umask, args, input)
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
  }
  const acked = await mqUmask(spool, umask, ['consume', 'q', '--max-messages', '3', '--exec', 'true'])
  expect(acked.code).toBe(0)
  const dead = await mqUmask(spool, umask, ['consume', 'q', '--max-messages', '1', '--exec', join(FIXTURES, 'handlers', 'permfail.sh')])
  expect(dead.code).toBe(0)
}

describe('what mq creates is private, or shared with the spool’s group only', () => {
  it('under umask 022, the spool, every directory and every file is for its owner only (0700/0600)', async () => {
    const spool = join(tempSpool(), 'new-spool')
    await populate(spool, '022')
    const all = modes(spool)
    expect(all.length).toBeGreaterThan(30)
    const open = all.filter((e) => (e.mode & 0o077) !== 0)
    expect(open).toEqual([])
  })

  it('a group-writable spool root (chmod 2770) makes queues shared with that group, never with others', async () => {
    const spool = join(tempSpool(), 'shared')
    mkdirSync(spool)
    chmodSync(spool, 0o2770)
    await populate(spool, '022') // the umask would drop g+w: mq sets the group bits itself
    const all = modes(spool)
    expect(all.filter((e) => (e.mode & 0o007) !== 0)).toEqual([])
    expect(all.filter((e) => e.type === 'd' && (e.mode & 0o2070) !== 0o2070)).toEqual([])
    expect(all.filter((e) => e.type === 'f' && (e.mode & 0o060) !== 0o060)).toEqual([])
  })
})

describe('a spool this user may not write', () => {
  it('maintenance commands exit 77 at once (not 75 after waiting for a lock); reading still works', async (ctx) => {
    const user = otherUser()
    if ('skip' in user) return ctx.skip(user.skip)
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'])
    await mq(spool, ['push', 'q', 'y'])
    // Readable by everybody, writable by root only.
    spawnSync('chmod', ['-R', 'go+rX', spool])
    for (const args of [
      ['config', 'q', '--max-depth', '5'],
      ['purge', 'q', '--force'],
      ['gc', '--force'],
      ['requeue', 'q'],
      ['pop', 'q'],
      ['push', 'q', 'z'],
    ]) {
      const r = await mq(spool, args, {...T, ...user})
      expect(r.timedOut, `${args.join(' ')} hung`).toBe(false)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(77)
      expect(r.stderr).toMatch(/permission denied/)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    const stats = await mq(spool, ['stats', 'q', '--json'], {...T, ...user})
    expect(stats.code, stats.stderr).toBe(0)
    expect(JSON.parse(stats.out)).toMatchObject({ready: 2})
  })
})
