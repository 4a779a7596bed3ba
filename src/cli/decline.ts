/**
 * The fast path declining a command line it was not built for (scripts/build-fast.js): each of
 * its bundles holds one engine, and the others are stubs that throw this when used. runFast
 * (./fast.ts) answers false, having printed nothing, and oclif runs the command line over the
 * full modules. It is thrown only where nothing has been done yet: an engine is opened before
 * anything is read, written or claimed.
 */
export class FastPathDeclined extends Error {
  constructor(what: string) {
    super(`the fast path does not hold ${what}`)
  }
}

export const declined = (what: string): FastPathDeclined => new FastPathDeclined(what)
