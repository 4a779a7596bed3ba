import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, FIXTURES, mq, tempSpool, userEnv} from '../../support/helpers.js'

const T = {timeoutMs: 20_000}
const stats = async (spool: string, q: string) => JSON.parse((await mq(spool, ['stats', q, '--json'], T)).out)

describe('absurd values are usage errors (64), before anything is written', () => {
  it('durations and times beyond the documented range', async () => {
    const spool = tempSpool()
    expect((await mq(spool, ['push', 'q', 'x'], T)).code).toBe(0)
    for (const args of [
      ['pop', 'q', '--lease', '100000000y'],
      ['push', 'q', '--delay', '100000000y', 'x'],
      ['push', 'q', '--at', '@1e30', 'x'],
      ['push', 'q', '--at', '+275760-09-13T00:00:00Z', 'x'],
      ['push', 'q', '--ttl', '1e300', 'x'],
      ['nack', 'q', '01a1fdeea6280000-57f7f6f9af0ab5dd,a1,l1', '--delay', '200y'],
    ]) {
      const r = await mq(spool, args, T)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(64)
      expect(r.stderr).toMatch(/^mq: --\w+: .*(longest duration mq accepts \(100 years\)|outside the times mq accepts \(1970 to 9999\)|not a duration)/)
    }
    expect(await stats(spool, 'q')).toMatchObject({delayed: 0, inflight: 0, ready: 1})
  })

  it('a key or a header of 64 KiB or more, with the limit in the message', async () => {
    const spool = tempSpool()
    for (const args of [
      ['push', 'q', '--key', 'k'.repeat(70_000), 'x'],
      ['push', 'q', '-H', `big=${'v'.repeat(70_000)}`, 'x'],
    ]) {
      const r = await mq(spool, args, T)
      expect(r.code, r.stderr).toBe(64)
      expect(r.stderr).toMatch(/the limit is 65535 bytes \(64 KiB\)/)
    }
    expect(JSON.parse((await mq(spool, ['stats', '--json'], T)).out)).toEqual([])
  })
})

/** Peak RSS (MiB) of one `mq` run (VmHWM), read by a preloaded hook at exit; stdin/stdout as given. */
function peakRss(spool: string, args: string[], io: {stdin?: string; stdout?: string} = {}): Promise<{code: number | null; mib: number}> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-rss-'))
  const hook = join(dir, 'hook.cjs')
  const out = join(dir, 'rss')
  // VmHWM belongs to this address space (exec starts a new one); ru_maxrss would carry the
  // forking parent's peak across fork and exec.
  writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, /VmHWM:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]))`)
  const shell = `exec "$0" --require "$HOOK" "$BIN" "$@" ${io.stdin ? '< "$IN"' : '< /dev/null'} ${io.stdout ? '> "$OUT"' : '> /dev/null'}`
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', shell, process.execPath, ...args], {
      env: userEnv({BIN, HOOK: hook, IN: io.stdin ?? '', MQ_SPOOL: spool, OUT: io.stdout ?? ''}),
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({code, mib: Number(readFileSync(out, 'utf8')) / 1024}))
  })
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

describe('bodies are streamed: memory does not grow with the body', () => {
  it('push, pop and consume of a 100 MiB body stay within 48 MiB of the same commands on a tiny one (it was 100-200 MiB more)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mq-big-'))
    const big = join(dir, 'big')
    const tiny = join(dir, 'tiny')
    // 100 MiB of varied bytes (not all zeros), and one byte.
    const chunk = Buffer.from(Array.from({length: 1 << 20}, (_, i) => (i * 31 + 7) % 256))
    writeFileSync(big, Buffer.concat(Array.from({length: 100}, (_, i) => Buffer.concat([Buffer.from([i]), chunk.subarray(1)]))))
    writeFileSync(tiny, 'x')
    const growth: Record<string, number> = {}
    for (const cmd of ['push', 'pop', 'consume'] as const) {
      const mib: Record<string, number> = {}
      for (const [name, file] of [['tiny', tiny], ['big', big]] as const) {
        const spool = tempSpool()
        expect((await mq(spool, ['push', 'q', '-'], {input: readFileSync(file), ...T})).code).toBe(0)
        const popped = join(dir, `popped-${name}`)
        const r =
          cmd === 'push'
            ? await peakRss(spool, ['push', 'q2'], {stdin: file})
            : cmd === 'pop'
              ? await peakRss(spool, ['pop', 'q', '-o', popped], {stdout: join(dir, `receipt-${name}`)}) // the receipt kept: pop refuses a /dev/null stdout
              : await peakRss(spool, ['consume', 'q', '--once', '--shell', `cat > ${popped}`])
        expect(r.code).toBe(0)
        mib[name] = r.mib
        // Byte for byte, whichever way it went.
        if (cmd === 'push') {
          const back = join(dir, `back-${name}`)
          expect((await mq(spool, ['pop', 'q2', '-o', back], T)).code).toBe(0)
          expect(sha256(back)).toBe(sha256(file))
        } else expect(sha256(popped)).toBe(sha256(file))
      }
      growth[cmd] = mib.big - mib.tiny
    }
    for (const [cmd, g] of Object.entries(growth)) expect(g, `${cmd} grew by ${g.toFixed(1)} MiB`).toBeLessThan(48)
  })
})

describe('a consumer killed with SIGKILL', () => {
  it('leaves no handler reading a truncated body, and its handlers learn it is gone (MQ_CONSUMER_FD)', async () => {
    const spool = tempSpool()
    const out = mkdtempSync(join(tmpdir(), 'mq-orphans-'))
    const body = Buffer.alloc(4 << 20, 97) // 4 MiB: far more than a pipe holds
    for (let i = 0; i < 3; i++) expect((await mq(spool, ['push', 'q', '-'], {input: body, ...T})).code).toBe(0)
    const consumer = spawn(process.execPath, [BIN, 'consume', 'q', '-j', '3', '--exec', join(FIXTURES, 'handlers', 'orphan.sh')], {
      env: userEnv({MQ_SPOOL: spool, OUT: out}),
      stdio: 'ignore',
    })
    const {readdirSync} = await import('node:fs')
    const {sleep} = await import('../../support/helpers.js')
    // Kill the consumer as soon as its three handlers have started (before they read a byte).
    for (let i = 0; i < 400 && readdirSync(out).filter((n) => n.startsWith('started.')).length < 3; i++) await sleep(25)
    consumer.kill('SIGKILL')
    // The orphans read their whole stdin (after their consumer died), and notice it is gone.
    for (let i = 0; i < 400 && readdirSync(out).filter((n) => n.startsWith('gone.') || n.startsWith('size.')).length < 6; i++) await sleep(25)
    const sizes = readdirSync(out).filter((n) => n.startsWith('size.')).map((n) => readFileSync(join(out, n), 'utf8').trim())
    expect(sizes).toEqual([String(body.length), String(body.length), String(body.length)])
    expect(readdirSync(out).filter((n) => n.startsWith('gone.'))).toHaveLength(3)
  })
})
