import {type Command} from '@oclif/core'

import {setStdoutSink} from '../../src/stdio.js'
import {ROOT} from './helpers.js'

type Write = typeof process.stdout.write

/**
 * Runs a command class in this process (no spawn), as oclif would, and captures its output
 * and the exit status it set. The commands are the TypeScript sources, not dist/. The capture
 * behaves as a real stream does (it calls each write's callback), which the commands rely on
 * to know their output was handed over.
 */
export async function runIn(
  Cmd: {run(argv?: string[], opts?: string): Promise<unknown>} & typeof Command,
  argv: string[],
): Promise<{exitCode: number; result: unknown; stderr: string; stdout: string}> {
  process.exitCode = undefined
  const out: Buffer[] = []
  const err: Buffer[] = []
  const capture = (into: Buffer[]): Write =>
    ((chunk: string | Uint8Array, encOrCb?: BufferEncoding | ((e?: Error | null) => void), cb?: (e?: Error | null) => void) => {
      into.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof encOrCb === 'string' ? encOrCb : 'utf8') : Buffer.from(chunk))
      const done = typeof encOrCb === 'function' ? encOrCb : cb
      if (done) process.nextTick(done)
      return true
    }) as Write
  const saved = [process.stdout.write, process.stderr.write] as const
  process.stdout.write = capture(out)
  process.stderr.write = capture(err)
  setStdoutSink((b) => out.push(b)) // data the commands write to fd 1 directly
  let result: unknown
  let error: unknown
  try {
    result = await Cmd.run(argv, ROOT)
  } catch (error_) {
    error = error_
  } finally {
    ;[process.stdout.write, process.stderr.write] = saved
    setStdoutSink(undefined)
  }
  const exitCode = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  if (error) throw error
  return {exitCode, result, stderr: Buffer.concat(err).toString('utf8'), stdout: Buffer.concat(out).toString('utf8')}
}
