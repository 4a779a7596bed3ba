import {redisBehaviour} from './server-suites.js'

// The whole behaviour suite again, over the lean connection the command line's hot verbs
// (push, pop, ack, nack, consume) use in place of ioredis: every promise holds on it as on
// ioredis (blocking waits, pipelines, scripts, a lost connection made again).
redisBehaviour({lean: true})
