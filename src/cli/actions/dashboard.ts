import {type Backend} from '../../backend.js'
import {Dashboard} from '../../dashboard/server.js'
import {untilInterrupted, writeStderr, writeStdoutSync} from '../../stdio.js'

/**
 * dashboard: the web page over this engine until SIGINT or SIGTERM (then exit 0). Prints its
 * URL on stdout (data: with --port 0, the port chosen), and a line for people on stderr.
 */
export async function dashboardAction(b: Backend, r: {port: number; host: string; auth?: string; readOnly?: boolean; interval: number; json?: boolean}): Promise<unknown> {
  const auth = r.auth ?? (process.env.MQ_DASHBOARD_AUTH || undefined)
  const d = new Dashboard(b, {host: r.host, intervalMs: r.interval, port: r.port, readOnly: Boolean(r.readOnly), ...(auth === undefined ? {} : {auth})})
  // Listening for the signal before the URL is printed: whoever reads the URL may stop it at once.
  const {dispose, interrupted} = untilInterrupted()
  try {
    const url = await d.start()
    if (r.json) writeStdoutSync(JSON.stringify({engine: b.kind, readOnly: Boolean(r.readOnly), url}) + '\n')
    else {
      writeStdoutSync(url + '\n')
      writeStderr(`mq: dashboard of the ${b.kind} engine at ${url}${r.readOnly ? ' (read-only)' : ''}${auth ? ' (basic auth)' : ''}; Ctrl-C stops it\n`)
    }
    await interrupted
  } finally {
    await d.close()
    dispose()
  }
  return undefined
}
