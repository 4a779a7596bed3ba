import {closeSync, openSync, readSync} from 'node:fs'

/**
 * Built-in modules that only some paths need, loaded when first used: each costs a
 * millisecond or two of start-up, which a cold `mq push` pays in full (README, Performance).
 */
export const lazy = {
  childProcess: () => process.getBuiltinModule('node:child_process'),
  crypto: () => process.getBuiltinModule('node:crypto'),
  os: () => process.getBuiltinModule('node:os'),
  stream: () => process.getBuiltinModule('node:stream'),
  streamPromises: () => process.getBuiltinModule('node:stream/promises'),
}

/** `n` random bytes: from /dev/urandom (no crypto module to load), else from node:crypto. */
export function randomBytesFast(n: number): Buffer {
  const buf = Buffer.allocUnsafe(n)
  try {
    const fd = openSync('/dev/urandom', 'r')
    try {
      for (let off = 0; off < n; ) {
        const got = readSync(fd, buf, off, n - off, null)
        if (got <= 0) throw new Error('short read')
        off += got
      }
    } finally {
      closeSync(fd)
    }
    return buf
  } catch {
    return lazy.crypto().randomBytes(n)
  }
}

/**
 * `n` random bytes as hex, drawn from a pool read from /dev/urandom 4 KiB at a time: delivery
 * tokens, one per claim. (crypto.randomBytes per claim cost a worker ~0.5 ms a message in
 * profiles of `mq consume`, once it had forked handlers.)
 */
let pool: Buffer = Buffer.alloc(0)
let poolAt = 0
export function randomHex(n: number): string {
  if (poolAt + n > pool.length) {
    pool = randomBytesFast(Math.max(4096, n))
    poolAt = 0
  }
  poolAt += n
  return pool.toString('hex', poolAt - n, poolAt)
}
