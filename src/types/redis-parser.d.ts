// redis-parser (the RESP parser ioredis uses; src/backends/redis/lean.ts) ships no types.
declare module 'redis-parser' {
  export default class RedisParser {
    constructor(options: {
      returnBuffers?: boolean
      returnError: (error: Error) => void
      returnFatalError?: (error: Error) => void
      returnReply: (reply: unknown) => void
      stringNumbers?: boolean
    })
    execute(chunk: Buffer): void
  }
}
