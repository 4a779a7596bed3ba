import {postgresBehaviour} from './server-suites.js'

// The whole behaviour suite against PostgreSQL, through pg's Client (./server-suites.ts).
postgresBehaviour({lean: false})
