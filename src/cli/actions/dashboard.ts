import {type Backend} from '../../backend.js'
import {Dashboard} from '../../dashboard/server.js'
import {writeStderr, writeStdoutSync} from '../../stdio.js'

/**
 * dashboard: the web page over this engine until SIGINT or SIGTERM (then exit 0). Prints its
 * URL on stdout (data: with --port 0, the port chosen), and a line for people on stderr.
 */
export async function dashboardAction(b: Backend, r: {port: number; host: string; auth?: string; readOnly?: boolean; interval: number; json?: boolean}): Promise<unknown> {
  const auth = r.auth ?? (process.env.MQ_DASHBOARD_AUTH || undefined)
  const d = new Dashboard(b, {host: r.host, intervalMs: r.interval, port: r.port, readOnly: Boolean(r.readOnly), ...(auth === undefined ? {} : {auth})})
  const url = await d.start()
  if (r.json) writeStdoutSync(JSON.stringify({engine: b.kind, readOnly: Boolean(r.readOnly), url}) + '\n')
  else {
    writeStdoutSync(url + '\n')
    writeStderr(`mq: dashboard of the ${b.kind} engine at ${url}${r.readOnly ? ' (read-only)' : ''}${auth ? ' (basic auth)' : ''}; Ctrl-C stops it\n`)
  }
  // on, not once: a once-listener is removed before it runs, and signal-exit (which
  // proper-lockfile loads for purge) would then find itself alone and kill the process.
  let stop = () => {}
  const stopped = new Promise<void>((resolve) => (stop = resolve))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    await stopped
    await d.close()
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  return undefined
}
