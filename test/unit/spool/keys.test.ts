import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {PRIVATE} from '../../../src/spool/fs.js'
import {claimKey, keyDir, sweepKeys} from '../../../src/spool/keys.js'
import {tempSpool} from '../../support/helpers.js'

/** A keys/ and a tmp/ directory, and a claim helper staging a tmp file as a push would. */
function setup() {
  const root = tempSpool()
  const keys = join(root, 'keys')
  const tmp = join(root, 'tmp')
  mkdirSync(tmp)
  const claim = (key: string, id: string, ttl: number, now: number, staged = true) => {
    if (staged) writeFileSync(join(tmp, id), 'body')
    return claimKey(keys, tmp, key, {id, tmp: id}, ttl, PRIVATE, now)
  }
  /** What a push does after winning: the tmp file is renamed into view (here: removed). */
  const publish = (id: string) => readdirSync(tmp).includes(id) && writeFileSync(join(tmp, id), '') === undefined && require('node:fs').unlinkSync(join(tmp, id))
  return {claim, keys, publish, tmp}
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const require = (await import('node:module')).createRequire(import.meta.url)

describe('idempotency keys', () => {
  it('the first claim wins; a second gets the first id once the first is published', () => {
    const {claim, keys, publish} = setup()
    expect(claim('k', 'id-1', 60_000, 1000)).toMatchObject({won: true})
    publish('id-1')
    expect(claim('k', 'id-2', 60_000, 2000)).toMatchObject({held: {expiresAt: 61_000, id: 'id-1', key: 'k'}})
    expect(readdirSync(keys)).toHaveLength(1) // no prepared directories left behind
    expect(readdirSync(keyDir(keys, 'k'))).toEqual(['id-1'])
  })

  it('an expired key can be taken again', () => {
    const {claim, publish} = setup()
    claim('k', 'id-1', 1000, 0)
    publish('id-1')
    expect(claim('k', 'id-2', 1000, 1000)).toMatchObject({won: true})
    publish('id-2')
    expect(claim('k', 'id-3', 1000, 1500)).toMatchObject({held: {id: 'id-2'}})
  })

  it('a released key is free at once', () => {
    const {claim} = setup()
    const first = claim('k', 'id-1', 60_000, 0)
    if (!('won' in first)) throw new Error('expected to win')
    first.release()
    expect(claim('k', 'id-2', 60_000, 1)).toMatchObject({won: true})
  })

  it('a key whose producer died before its message became visible is taken over', () => {
    const {claim, keys, tmp} = setup()
    claim('k', 'id-1', 60_000, 0)
    // Rewrite the record as if a process that no longer exists had taken the key.
    const rec = join(keyDir(keys, 'k'), 'id-1')
    writeFileSync(rec, JSON.stringify({expiresAt: 60_000, host: require('node:os').hostname(), id: 'id-1', key: 'k', pid: 2 ** 22 + 7, tmp: 'id-1'}))
    expect(claim('k', 'id-2', 60_000, 10)).toMatchObject({won: true})
    expect(readdirSync(tmp).sort()).toEqual(['.abandoned.id-1', 'id-2']) // the old message can never be renamed into view
  })

  it('keys are independent of each other, whatever their text', () => {
    const {claim} = setup()
    expect(claim('../../etc/passwd', 'a', 1000, 0)).toMatchObject({won: true})
    expect(claim('x'.repeat(5000), 'b', 1000, 0)).toMatchObject({won: true})
  })

  it('a legacy (mq-spool 1) key file is honoured while it holds and replaced once it expired', () => {
    const {claim, keys} = setup()
    mkdirSync(keys)
    writeFileSync(keyDir(keys, 'old'), JSON.stringify({expiresAt: 5000, id: 'legacy', key: 'old'}))
    expect(claim('old', 'id-1', 1000, 1000)).toMatchObject({held: {id: 'legacy'}})
    expect(claim('old', 'id-2', 1000, 6000)).toMatchObject({won: true})
  })

  it('sweeping releases expired and abandoned keys only', () => {
    const {claim, keys, publish} = setup()
    claim('old', 'a', 1000, 0)
    publish('a')
    claim('live', 'c', 100_000, 5000)
    publish('c')
    expect(sweepKeys(keys, join(keys, '..', 'tmp'), 7000)).toBe(1) // "old" expired at 1000
    expect(claim('live', 'd', 1000, 7000)).toMatchObject({held: {id: 'c'}})
    expect(claim('old', 'e', 1000, 7000)).toMatchObject({won: true})
  })
})
