import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {claimKey, sweepKeys} from '../../../src/spool/keys.js'
import {tempSpool} from '../../support/helpers.js'

describe('idempotency keys', () => {
  it('the first claim wins; a second gets the first id', () => {
    const dir = join(tempSpool(), 'keys')
    expect(claimKey(dir, 'k', 'id-1', 60_000, 1000)).toEqual({won: true})
    expect(claimKey(dir, 'k', 'id-2', 60_000, 2000)).toEqual({held: {expiresAt: 61_000, id: 'id-1', key: 'k'}})
    expect(readdirSync(dir)).toHaveLength(1) // no temp files left behind
  })

  it('an expired key can be taken again', () => {
    const dir = join(tempSpool(), 'keys')
    claimKey(dir, 'k', 'id-1', 1000, 0)
    expect(claimKey(dir, 'k', 'id-2', 1000, 1000)).toEqual({won: true})
    expect(claimKey(dir, 'k', 'id-3', 1000, 1500)).toMatchObject({held: {id: 'id-2'}})
  })

  it('keys are independent of each other, whatever their text', () => {
    const dir = join(tempSpool(), 'keys')
    expect(claimKey(dir, '../../etc/passwd', 'a', 1000, 0)).toEqual({won: true})
    expect(claimKey(dir, 'x'.repeat(5000), 'b', 1000, 0)).toEqual({won: true})
  })

  it('sweeping removes expired keys and set-aside files only', () => {
    const dir = join(tempSpool(), 'keys')
    claimKey(dir, 'old', 'a', 1000, 0)
    claimKey(dir, 'old', 'b', 1000, 5000) // sets the first aside
    claimKey(dir, 'live', 'c', 100_000, 5000)
    expect(sweepKeys(dir, 7000)).toBe(2) // "old" (expired at 6000) and the set-aside file
    expect(claimKey(dir, 'live', 'd', 1000, 7000)).toMatchObject({held: {id: 'c'}})
  })
})
