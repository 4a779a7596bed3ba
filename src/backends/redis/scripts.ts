import {ACKED_KEPT, AGING_MS, ATTEMPT_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, MAX_PRIORITY} from '../../policy.js'
import {LUA} from './lua.generated.js'

/**
 * The Redis engine's state transitions: one Lua script each, in ./lua/NAME.lua with its
 * contract and race notes, run atomically by the server (EVALSHA, with ioredis falling back to
 * EVAL on NOSCRIPT). ./lua/prelude.lua, the functions they share, is put at the top of each at
 * build time (scripts/embed-scripts.js makes ./lua.generated.ts). The layout they share, for queue Q
 * under prefix P (the URL's `prefix`, default "mq"); every key of a queue carries the hash tag
 * {Q}, so one queue lives in one Redis Cluster slot:
 *
 *   P:{Q}:m:ID       hash: one message. b body, p priority, a deliveries so far, nb not-before,
 *                    l lease deadline, tok the delivery's token (present exactly while the
 *                    message is in flight), x expiry, k key, h headers (JSON), t topic; for a
 *                    dead letter rr reason, ra when, rn deliveries, rf the failure (JSON). A
 *                    message's state is the sorted set that holds its id; the hash keeps none.
 *   P:{Q}:ready      sorted set: ready messages scored 9 - priority, so that the highest
 *                    priority comes first and, within one score, members sort by id, that is
 *                    by enqueue time (ids start with it). A claim visits only the priorities
 *                    that have messages: one ZRANGEBYSCORE jumps to the next score.
 *   P:{Q}:delayed    sorted set: delayed messages by due time (ms)
 *   P:{Q}:inflight   sorted set: claimed messages by lease deadline (ms)
 *   P:{Q}:dead       sorted set: dead letters, scored 0 (id order)
 *   P:{Q}:meta       hash: maxDepth, maxAttempts, leaseMs, paused, done (acks counted; bodies
 *                    are deleted at ack), lastms and seq (the id clock)
 *   P:{Q}:k:KEY      string: the id holding idempotency key KEY, expiring with the key
 *   P:{Q}:tk:T:KEY   string: the copy of topic T's keyed message this queue has (fan-out retries)
 *   P:{Q}:keys       sorted set: keys by expiry, so that gc can count what it releases
 *   P:{Q}:at:A       string: push attempt A's reply (JSON), kept ATTEMPT_TTL_MS: the same
 *                    attempt sent again after its reply was lost gets it back (push.lua)
 *   P:{Q}:acked      sorted set: the ids of the last ACKED_KEPT acks, scored by when (mq wait)
 *   P:{Q}:wake       list: one entry per wake-up, for claims waiting in BLPOP (expires in 5 s)
 *   P:queues, P:topics, P:t:{T}:subs   sets: queue names, topic names, a topic's subscribers
 *
 * Time is the server's (TIME), never a client's: a client sends durations, and the scripts
 * add them to the server's clock. KEYS[1] is always the queue's key prefix "P:{Q}:"; the other
 * keys are derived from it (all in its slot). Times are returned and stored as integers of ms.
 */

/** The constants the scripts name as {{NAME}}: the queue's policy, one definition for every engine. */
const CONSTANTS: Record<string, number> = {ACKED_KEPT, AGING_MS, ATTEMPT_TTL_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, MAX_PRIORITY}

/** A script by its file name (lua/NAME.lua), with the policy's constants put in. */
function script(name: string): string {
  const lua = LUA[name]
  if (lua === undefined) throw new Error(`no Lua script ${name} (run npm run build)`)
  return lua.replaceAll(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in CONSTANTS)) throw new Error(`lua/${name}.lua: unknown constant {{${k}}}`)
    return String(CONSTANTS[k])
  })
}

/** The scripts' names as commands (names that cannot collide with Redis's own: see TOOLCHAIN), by file. */
const FILES = {
  mqAck: 'ack',
  mqAckClaim: 'ack-claim',
  mqCancel: 'cancel',
  mqDrop: 'drop',
  mqFates: 'fates',
  mqShow: 'show',
  mqClaim: 'claim',
  mqDead: 'dead-letter',
  mqGc: 'gc',
  mqLook: 'look',
  mqMint: 'mint',
  mqPeek: 'peek',
  mqPurge: 'purge',
  mqPush: 'push',
  mqRelease: 'release',
  mqRenew: 'renew',
  mqRequeue: 'requeue',
  mqResume: 'resume',
  mqRoom: 'room',
} as const

/**
 * The scripts as commands, each made (its constants put in) when first read: a cold `mq push`
 * sends one or two of the nineteen (./lean.ts), ioredis defines them all (Object.entries).
 */
export const SCRIPTS = {} as {readonly [K in keyof typeof FILES]: string}
for (const [name, file] of Object.entries(FILES)) {
  let text: string | undefined
  Object.defineProperty(SCRIPTS, name, {enumerable: true, get: () => (text ??= script(file))})
}
