/** Defaults shared by the oclif flags (src/args.ts) and the fast path (src/cli/fast.ts). */
export const DEFAULT_LEASE = '5m'
export const DEFAULT_MAX_ATTEMPTS = 5
