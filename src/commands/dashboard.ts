import {grammarCommand} from '../base-command.js'

/** Declared in src/cli/grammar.ts, run by src/cli/run-command.ts. */
export default class Dashboard extends grammarCommand('dashboard') {
  static summary = 'A web page of the queues: counts, rates and charts, messages, and actions.'
  static description = `Serves a page over whatever engine the URL names: every queue with its counts per state, oldest ready age, pause and push and ack rates; charts of depth and rates over the last hour (sampled while it runs, kept in memory: for longer, scrape mq stats --prometheus); each state's messages with their details, dead letters with their reason, bodies as text (base64 when not UTF-8, cut at 4 KiB); and actions: requeue one or every dead letter, cancel a message, purge a state, pause, resume, drop a queue (the last two kinds ask first). --read-only offers no actions.
Safe by default: it listens on 127.0.0.1; any other address needs --auth USER:PASSWORD (HTTP basic auth, compared in constant time) or it refuses to start (78). Actions are POSTs that carry the page's token, so another site cannot make a browser send them; everything from a message is rendered as text, under a Content-Security-Policy that allows scripts from this server alone; nothing is loaded from other hosts.`

  static examples = ['<%= config.bin %> dashboard --port 0 --read-only', 'MQ_DASHBOARD_AUTH=ops:s3cret <%= config.bin %> dashboard --port 0 --url redis://127.0.0.1:6379/0']
}
