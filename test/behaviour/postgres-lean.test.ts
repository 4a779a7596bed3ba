import {postgresBehaviour} from './server-suites.js'

// The whole behaviour suite again, over the lean connection the command line's hot verbs
// (push, pop, ack, nack, consume) use in place of pg's Client.
postgresBehaviour({lean: true})
