import {type BodySource} from './backend.js'
import {NoInputError, UsageError} from './errors.js'

/**
 * The body from stdin, byte for byte (no trimming, no decoding), as a stream: memory stays flat
 * whatever its size. The first chunk is read here, so that an empty stdin is refused (66)
 * before anything is created, unless allowEmpty.
 */
export async function stdinBody(allowEmpty: boolean): Promise<BodySource> {
  if (process.stdin.isTTY) throw new UsageError('no message body: give it as an argument, or pipe it on stdin')
  const it = process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const first = await it.next()
  if (first.done) {
    if (!allowEmpty) throw new NoInputError('empty message body on stdin', 'pass --allow-empty to push an empty message')
    return Buffer.alloc(0)
  }
  return (async function* () {
    yield first.value
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value
  })()
}

/**
 * Records from stdin split on `sep` ("\n" or "\0"), yielded in groups of up to `max` records
 * (or ~8 MiB), so a producer can commit and print one group before reading the next: memory
 * stays flat for any input. Empty records (blank lines, a trailing separator) are skipped.
 */
export async function* readRecords(sep: number, max: number): AsyncGenerator<Buffer[]> {
  if (process.stdin.isTTY) throw new UsageError('--batch reads messages from stdin; pipe them in')
  let rest = Buffer.alloc(0)
  let group: Buffer[] = []
  let bytes = 0
  for await (const chunk of process.stdin) {
    const data = rest.length > 0 ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer)
    let start = 0
    for (let i = data.indexOf(sep, start); i >= 0; i = data.indexOf(sep, start)) {
      if (i > start) {
        group.push(data.subarray(start, i))
        bytes += i - start
      }
      start = i + 1
      if (group.length >= max || bytes >= 8 << 20) {
        yield group
        group = []
        bytes = 0
      }
    }
    rest = Buffer.from(data.subarray(start))
  }
  if (rest.length > 0) group.push(rest)
  if (group.length > 0) yield group
}
