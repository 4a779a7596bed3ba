import {redisBehaviour} from './server-suites.js'

// The whole behaviour suite against Redis, through ioredis (./server-suites.ts).
redisBehaviour({lean: false})
