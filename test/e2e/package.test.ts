import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {ROOT, run, tempSpool} from '../support/helpers.js'

/**
 * The library as a user installs it: `npm pack` of this project, installed into a fresh project,
 * imported by its name. (Dependencies come from npm's cache, which `npm ci` filled.)
 */
describe('the package', () => {
  it('installs from its tarball and is imported as "mq": open an engine, push, claim, ack; typed errors', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mq-pack-'))
    // A command run here leaves a code cache in dist/.code-cache (bin/run.cjs): never shipped.
    expect((await run(process.execPath, [join(ROOT, 'bin', 'run.cjs'), 'push', 'q', 'x'], {env: {MQ_SPOOL: tempSpool()}})).code).toBe(0)
    expect(readdirSync(join(ROOT, 'dist', '.code-cache')).length).toBeGreaterThan(0)
    const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], {cwd: ROOT, encoding: 'utf8'}).trim().split('\n').pop()!
    const shipped = execFileSync('tar', ['tzf', join(work, tarball)], {encoding: 'utf8'})
    expect(shipped).toContain('package/dist/fast.cjs')
    expect(shipped).not.toContain('.code-cache')
    const app = join(work, 'app')
    execFileSync('mkdir', [app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({name: 'app', private: true, type: 'module'}))
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, tarball)], {cwd: app, stdio: 'ignore'})
    const spool = tempSpool()
    writeFileSync(
      join(app, 'main.js'),
      `
import {open, MemoryBackend, NotInFlightError, EXIT, Consumer, validateQueueName} from 'mq'
const out = []
for (const url of ['memory:', 'file://${spool}']) {
  const mq = await open(url)
  const [p] = await mq.push('jobs', [{body: Buffer.from('hello')}])
  const d = await mq.claim('jobs', {waitMs: 1000})
  out.push(mq.kind, d.id === p.id, d.body.toString(), await mq.ack('jobs', d.receipt) === p.id)
  try { await mq.ack('jobs', d.receipt) } catch (e) { out.push(e instanceof NotInFlightError, e.exitCode === EXIT.NO_INPUT) }
  await mq.close()
}
out.push(typeof Consumer, typeof MemoryBackend, validateQueueName('ok'))
console.log(JSON.stringify(out))
`,
    )
    const r = await run(process.execPath, ['main.js'], {cwd: app})
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.out)).toEqual(['memory', true, 'hello', true, true, true, 'spool', true, 'hello', true, true, true, 'function', 'function', 'ok'])
    // Its command is installed too.
    const cli = await run(join(app, 'node_modules', '.bin', 'mq'), ['push', 'q', 'from the bin'], {env: {MQ_SPOOL: spool}})
    expect(cli.code, cli.stderr).toBe(0)
  })
})
