import {describe, expect, it} from 'vitest'

import {bucketsOf, idTime, isMessageId, newMessageId, timeHex} from '../../src/message-id.js'
import {formatName, parseName, readyName} from '../../src/spool/message-name.js'

describe('message ids', () => {
  it('encode the enqueue time and sort in the order they were minted', () => {
    const t = Date.UTC(2026, 10, 21, 12, 0, 0)
    const ids = Array.from({length: 500}, () => newMessageId(t))
    expect(ids.every((id) => isMessageId(id))).toBe(true)
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
    expect(idTime(ids[0])).toBe(t)
  })

  it('stay monotonic when the clock steps back', () => {
    const a = newMessageId(Date.UTC(2030, 0, 1))
    const b = newMessageId(Date.UTC(2029, 0, 1))
    expect(b > a).toBe(true)
  })

  it('name their buckets by prefixes of the time', () => {
    const id = newMessageId(Date.UTC(2031, 0, 1))
    const [b7, b10] = bucketsOf(id)
    expect(id.startsWith(b10)).toBe(true)
    expect(b10.startsWith(b7)).toBe(true)
    expect(bucketsOf(timeHex(idTime(id)))).toEqual([b7, b10])
  })
})

describe('message file names', () => {
  const id = '019a6c3f2b100003-9f2c4e01a7b3d566'

  it('round-trip every field', () => {
    const m = {attempt: 3, header: true, id, leaseUntil: 1_800_000_000_000, notBefore: 1_700_000_000_000, priority: 7}
    expect(formatName(m)).toBe(`${id},a3,p7,n1700000000000,l1800000000000,h`)
    expect(parseName(formatName(m))).toEqual(m)
  })

  it('accept a bare id, as a foreign producer writes it', () => {
    expect(parseName(id)).toEqual({attempt: 0, header: false, id, priority: 0})
    expect(formatName({attempt: 0, header: false, id, priority: 0})).toBe(id)
  })

  it.each(['', 'hello', `${id}.tmp`, `${id},x1`, `${id},p10`, `${id},a`, `${id},,a1`, id.toUpperCase(), `${id.slice(1)}`])(
    'reject %j',
    (name) => {
      expect(parseName(name)).toBeNull()
    },
  )

  it('drop the lease and not-before fields for the ready name', () => {
    const m = parseName(`${id},a2,p1,l123,h`)!
    expect(formatName(readyName(m))).toBe(`${id},a2,p1,h`)
  })
})
