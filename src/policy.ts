/**
 * Queue policy, the same for every engine: the defaults of a queue's config, the one rule that
 * decides when a message has had its deliveries, and how priorities age. Engines call these
 * instead of deciding for themselves, so every consumer of a queue applies the same rule.
 */

/** Deliveries before a message is dead-lettered (QueueConfig.maxAttempts). */
export const DEFAULT_MAX_ATTEMPTS = 5
/** A claim's lease when neither the claim nor the queue says (QueueConfig.leaseMs). */
export const DEFAULT_LEASE_MS = 5 * 60 * 1000
/** How long an idempotency key holds. */
export const DEFAULT_KEY_TTL_MS = 24 * 3600 * 1000
/**
 * How long a server engine keeps the record of a push attempt (Driver.idempotentPush): the
 * window in which the same push, sent again after its reply was lost, is stored once. The queue
 * layer sends it again at once, on a new connection; a minute covers the connect and command
 * timeouts of that second try with room to spare.
 */
export const ATTEMPT_TTL_MS = 60_000
/**
 * How many acked ids an engine that deletes acked messages (Redis) remembers per queue, so that
 * `mq wait` can tell "done" from "never heard of": the last this many acks.
 */
export const ACKED_KEPT = 10_000
/** Priorities: 0 to MAX_PRIORITY, larger first. */
export const MAX_PRIORITY = 9
/** Priority aging: one level per this long waited (see priorityRank). */
export const AGING_MS = 60_000

/**
 * Exhausted: a message delivered `attempt` times may not be delivered again. A claim that finds
 * one dead-letters it (reason max_attempts); a counted release of its last delivery
 * dead-letters it instead of giving it back.
 */
export function isExhausted(attempt: number, maxAttempts: number): boolean {
  return attempt >= maxAttempts
}

/**
 * A priority's rank with aging: P + whole aging periods its oldest message has waited. The
 * highest rank is claimed from first (ties: the older message), so a priority-0 message that
 * waited 9 minutes ranks with fresh priority-9 work: a flood of urgent messages slows, never
 * starves, the rest.
 */
export function priorityRank(priority: number, enqueuedAt: number, now: number, agingMs = AGING_MS): number {
  return priority + Math.floor(Math.max(0, now - enqueuedAt) / agingMs)
}
