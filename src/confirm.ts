import {UsageError} from './errors.js'

/**
 * Destructive commands ask first on a terminal; elsewhere (scripts, cron, CI) they need --force,
 * so nothing is destroyed by a command line that was never meant to run unattended.
 */
export async function confirmOrForce(question: string, force: boolean): Promise<boolean> {
  if (force) return true
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw new UsageError(`${question.replace(/\?$/, '')}: refusing without --force when not on a terminal`)
  const {createInterface} = await import('node:readline/promises')
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
