import {Queue} from '../../src/queue.js'

import {RABBITMQ_CAPABILITIES, RabbitBackend} from '../../src/backends/rabbitmq/index.js'
import {describeWithServer, freshPrefix, rabbitUnavailable, rabbitVhostOfFile, withPrefix} from '../support/servers.js'
import {behaviourSuite} from './suite.js'

// The whole behaviour suite against RabbitMQ: the machine's broker, a vhost of this file's own
// (deleted after), a name prefix per test. Peers are other processes opening the URL; what the
// engine does not declare (src/backends/rabbitmq/: inspect, listing, priorities, keys, portable
// receipts) is checked to be refused (78).
describeWithServer('rabbitmq', rabbitUnavailable(), () => {
  const vhost = rabbitVhostOfFile()
  behaviourSuite({
    capabilities: RABBITMQ_CAPABILITIES,
    async fresh() {
      const url = withPrefix(vhost().url, freshPrefix())
      return {open: async () => new Queue(new RabbitBackend(url)), url}
    },
    name: 'rabbitmq',
    quirks: {boundCountsReadyOnly: true, clientBound: true, fixedSettings: true},
  })
})
