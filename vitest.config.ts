import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // Real processes and real directories: forks, two at a time (the machines have 2 cores).
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    disableConsoleIntercept: true,
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/plain-reporter.ts'],
    // No push relay (src/relay/) outlives a test's commands: test/e2e/relay.test.ts turns it on
    // for its own, each in a directory of its own.
    env: {MQ_RELAY: 'off', NO_COLOR: '1'},
  },
})
