import {type Command} from '@oclif/core'
import {captureOutput} from '@oclif/test'

import {ROOT} from './helpers.js'

/**
 * Runs a command class in this process (no spawn), as oclif would, and captures its output
 * and the exit status it set. The commands are the TypeScript sources, not dist/.
 */
export async function runIn(
  Cmd: {run(argv?: string[], opts?: string): Promise<unknown>} & typeof Command,
  argv: string[],
): Promise<{exitCode: number; result: unknown; stderr: string; stdout: string}> {
  process.exitCode = undefined
  const r = await captureOutput(() => Cmd.run(argv, ROOT))
  const exitCode = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  if (r.error) throw r.error
  return {exitCode, result: r.result, stderr: r.stderr, stdout: r.stdout}
}
