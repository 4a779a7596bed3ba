import {isatty} from 'node:tty'

import {guardStdio} from './stdio.js'

/**
 * Output for humans: stderr only, colour and spinners only on a TTY. chalk and ora are loaded
 * lazily so that the hot commands (push, pop, ack) never pay for them on a pipe.
 */

/** Colour on stderr: a TTY, and neither NO_COLOR nor TERM=dumb. */
export function stderrColor(): boolean {
  return isatty(2) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'
}

/**
 * Spinners on stderr: a TTY that reports columns (ora spins at 100% CPU on a 0-column TTY),
 * not CI, not TERM=dumb.
 */
export function spinnerAllowed(): boolean {
  return (
    isatty(2) &&
    (process.stderr.columns ?? 0) > 0 &&
    !process.env.CI &&
    process.env.TERM !== 'dumb'
  )
}

type Painter = (s: string) => string
export interface Palette {
  dim: Painter
  green: Painter
  red: Painter
  yellow: Painter
  bold: Painter
}

const plain: Palette = {bold: String, dim: String, green: String, red: String, yellow: String}

/** chalk's colours when stderr allows them, identity functions otherwise. */
export async function palette(): Promise<Palette> {
  if (!stderrColor()) return plain
  const {Chalk} = await import('chalk')
  const c = new Chalk({level: 1})
  return {bold: c.bold, dim: c.dim, green: c.green, red: c.red, yellow: c.yellow}
}

export interface Spinner {
  /** Clear the spinner line, so a log line can be written in its place. */
  clear(): void
  render(): void
  stop(): void
  update(text: string): void
}

/** An ora spinner on stderr when spinnerAllowed(), else an object that does nothing. */
export async function startSpinner(text: string): Promise<Spinner | undefined> {
  if (!spinnerAllowed()) return undefined
  guardStdio()
  const {default: ora} = await import('ora')
  const s = ora({discardStdin: false, stream: process.stderr, text}).start()
  return {
    clear: () => s.clear(),
    render: () => s.render(),
    stop: () => s.stop(),
    update(t: string) {
      s.text = t
    },
  }
}
