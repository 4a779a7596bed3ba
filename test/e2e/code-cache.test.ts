import {describe, expect, it} from 'vitest'

import {chmodSync, chownSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {otherUser} from '../support/damage.js'
import {mq, ROOT, tempDir, tempSpool} from '../support/helpers.js'

/**
 * bin/run.cjs compiles the fast path's bundle with V8's code cache (dist/.code-cache/): a cache
 * is a speed-up only, never a different answer. Each test runs a copy of the package (bin/,
 * dist/, package.json; node_modules linked), so that its caches are its own; the copy is
 * removed after the test, as its spool is.
 */
function install(): string {
  const dir = tempDir('mq-cache-')
  chmodSync(dir, 0o755)
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, part), join(dir, part), {filter: (src) => !src.includes('.code-cache'), recursive: true})
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

const cacheDir = (dir: string) => join(dir, 'dist', '.code-cache')
const caches = (dir: string) => (existsSync(cacheDir(dir)) ? readdirSync(cacheDir(dir)).sort() : [])
const bin = (dir: string) => join(dir, 'bin', 'run.cjs')

async function pushed(dir: string, spool: string, body: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await mq(spool, ['push', 'q', body], {bin: bin(dir), env, timeoutMs: 60_000})
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.out).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}\n$/)
  return r.out.trim()
}

/** The bodies of the next `n` messages popped from q, in order. */
async function popped(dir: string, spool: string, n = 1): Promise<string[]> {
  const bodies = []
  for (let i = 0; i < n; i++) {
    const r = await mq(spool, ['pop', 'q', '--json'], {bin: bin(dir), timeoutMs: 60_000})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    bodies.push(JSON.parse(r.out).body)
  }
  return bodies
}

describe('the fast path\'s code cache (bin/run.cjs)', () => {
  it('the first command writes one cache; the next ones read it, answer the same, and leave it as it is', async () => {
    const [dir, spool] = [install(), tempSpool()]
    await pushed(dir, spool, 'one')
    const [file, ...more] = caches(dir)
    expect(more).toEqual([])
    expect(file).toMatch(new RegExp(`^fast-${process.version}-${process.arch}-\\d+-\\d+\\.v8$`))
    const written = readFileSync(join(cacheDir(dir), file))
    expect(written.length).toBeGreaterThan(1000)
    await pushed(dir, spool, 'two')
    expect(await popped(dir, spool, 2)).toEqual(['one', 'two'])
    // Accepted by V8: not written again (a rejected one would be).
    expect(caches(dir)).toEqual([file])
    expect(readFileSync(join(cacheDir(dir), file)).equals(written)).toBe(true)
  })

  it('a cache V8 rejects (damaged) costs time, not the answer, and is replaced by a good one', async () => {
    const [dir, spool] = [install(), tempSpool()]
    await pushed(dir, spool, 'one')
    const [file] = caches(dir)
    const path = join(cacheDir(dir), file)
    const junk = Buffer.alloc(readFileSync(path).length, 0x5a)
    writeFileSync(path, junk)
    await pushed(dir, spool, 'two')
    expect(await popped(dir, spool)).toEqual(['one'])
    const good = readFileSync(path)
    expect(good.equals(junk)).toBe(false)
    expect(await popped(dir, spool)).toEqual(['two'])
    expect(readFileSync(path).equals(good)).toBe(true)
    expect(caches(dir)).toEqual([file])
  })

  it('first commands racing each answer; one whole cache is left, and no temporary file', async () => {
    const [dir, spool] = [install(), tempSpool()]
    const ids = await Promise.all(Array.from({length: 6}, (_, i) => pushed(dir, spool, `m${i}`)))
    expect(new Set(ids).size).toBe(6)
    expect(caches(dir)).toHaveLength(1)
    expect(caches(dir)[0]).toMatch(/\.v8$/)
    expect((await popped(dir, spool, 6)).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
  })

  it('a bundle built again is never run with the old one\'s cache', async () => {
    const [dir, spool] = [install(), tempSpool()]
    await pushed(dir, spool, 'one')
    const [old] = caches(dir)
    // The bundle written again, of the same size (V8 checks only the length): another change
    // time, so another cache.
    const bundle = join(dir, 'dist', 'fast.cjs')
    const text = readFileSync(bundle, 'utf8')
    writeFileSync(bundle, text.replace('mq: ', 'mq! '))
    expect(readFileSync(bundle).length).toBe(Buffer.byteLength(text))
    await pushed(dir, spool, 'two')
    const now = caches(dir)
    expect(now).toHaveLength(2)
    expect(now).toContain(old)
    expect(await popped(dir, spool, 2)).toEqual(['one', 'two'])
  })

  it('MQ_CODE_CACHE=off loads the bundle with require() and writes nothing', async () => {
    const [dir, spool] = [install(), tempSpool()]
    await pushed(dir, spool, 'one', {MQ_CODE_CACHE: 'off'})
    expect(await popped(dir, spool)).toEqual(['one'])
    expect(existsSync(cacheDir(dir))).toBe(true) // the pop (no MQ_CODE_CACHE) wrote one
    rmSync(cacheDir(dir), {recursive: true})
    await pushed(dir, spool, 'two', {MQ_CODE_CACHE: 'off'})
    expect(existsSync(cacheDir(dir))).toBe(false)
  })

  it('where the user cannot write to dist/ (an install owned by another), commands answer and write nothing', async (ctx) => {
    const user = otherUser()
    if ('skip' in user) return ctx.skip(user.skip)
    const [dir, spool] = [install(), tempSpool()]
    chownSync(spool, user.uid, user.gid)
    const r = await mq(spool, ['push', 'q', 'theirs'], {bin: bin(dir), ...user})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(caches(dir)).toEqual([])
    const p = await mq(spool, ['pop', 'q', '--json'], {bin: bin(dir), ...user})
    expect(JSON.parse(p.out).body).toBe('theirs')
    expect(caches(dir)).toEqual([])
  })
})
