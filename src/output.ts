import {guardStdio} from './stdio.js'

/** Whether stderr is a terminal (without creating process.stderr's stream to ask). */
const isatty = (fd: number) => process.getBuiltinModule('node:tty').isatty(fd)

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
  // NO_COLOR (or TERM=dumb) also takes the spinner's own colour away.
  const s = ora({color: stderrColor() ? 'cyan' : false, discardStdin: false, isEnabled: true, stream: process.stderr, text}).start() // enabled: spinnerAllowed() decided
  let renderedAt = 0
  return {
    clear: () => s.clear(),
    render: () => s.render(),
    stop: () => s.stop(),
    update(t: string) {
      s.text = t
      // Work that keeps the event loop busy (purge, gc, a long batch) starves ora's own timer:
      // draw from here, at most every 80 ms.
      const now = Date.now()
      if (now - renderedAt >= 80) {
        renderedAt = now
        s.render()
      }
    },
  }
}
