import {AGING_MS, ATTEMPT_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, MAX_PRIORITY} from '../../policy.js'

/**
 * The PostgreSQL engine's schema and state transitions. Everything lives in one schema (the
 * URL's `schema`, default "mq"), created on first use and versioned in S.schema_version so that
 * later releases can migrate it. Times are integers of ms from the server's clock (S.now_ms());
 * clients send durations, never their clocks.
 *
 *   S.queues    one row per queue: its config, the pause flag
 *   S.messages  one row per message: state ready | delayed | inflight | dead | done; a claim
 *               sets token and lease_until; done rows keep their body until gc (as the spool's
 *               done/ does)
 *   S.keys      idempotency keys by scope ("queue:Q" or "topic:T"), with their expiry
 *   S.attempts  the replies of recent pushes by their attempt name (an idempotent producer)
 *   S.counts    changes of each queue's count per state (./sql/5-counts.sql)
 *   S.topics, S.subs   topics and their subscribers
 *
 * Each transition is one statement from the client's side (a function call or one DML
 * statement), so each is one transaction: nothing is half done after a crash. The tables and
 * functions are SQL in ./sql/*.sql (embedded at build time by scripts/embed-scripts.js),
 * written with {{S}} for the schema, replaced when the schema is installed.
 */
/**
 * Raised whenever INSTALL changes: a database at an older version runs INSTALL again (it is
 * idempotent: tables IF NOT EXISTS, functions CREATE OR REPLACE) and records the new version.
 * 2: claim probes each priority once (LATERAL); settle reads max_attempts only for a release.
 * 3: ready messages are taken in push order by S.messages.seq (ids alone misorder a batch where
 *    their 16-bit sequence part wraps); id_seq no longer cycles.
 * 4: the four settles are four functions (ack, release, renew, dead_letter, over held), and
 *    every inspection and administration statement is a function of ./sql/4-admin.sql.
 * 5: push takes an attempt name and records its reply (S.attempts); a done row keeps its
 *    delivery's token (an ack sent again answers as the first did); show, cancel and drop;
 *    counts kept by statement triggers (./sql/5-counts.sql): stats and the bound read them.
 * 6: claim_after, for a worker's ack and next claim in one statement (./sql/3-settle.sql).
 * 7: the server's work per message cut by about a third (same behaviour): lease_for is PL/pgSQL
 *    (its plan kept, where SQL's was made again at every call), sweep probes before it updates,
 *    ack is one UPDATE when the delivery is in flight, claim reads the lease from the row it has.
 */
export const SCHEMA_VERSION = 7

/** The LISTEN/NOTIFY channel on which pushes, releases and resumes wake waiting claims (payload: the queue). */
export const wakeChannel = (schema: string) => `${schema}_wake`

/** The statements that install the schema named `schema` (or bring it up to this version): ./sql/*.sql, in name order. */
export async function INSTALL(schema: string): Promise<string> {
  // Imported when a schema is installed: a cold push need not read 40 KB of SQL it does not send.
  const {SQL} = await import('./sql.generated.js')
  const values: Record<string, number | string> = {AGING_MS, ATTEMPT_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, MAX_PRIORITY, S: `"${schema}"`, WAKE: wakeChannel(schema)}
  const text = Object.keys(SQL)
    .sort()
    .map((name) => SQL[name])
    .join('\n')
  return text.replaceAll(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`sql/*.sql: unknown placeholder {{${k}}}`)
    return String(values[k])
  })
}
