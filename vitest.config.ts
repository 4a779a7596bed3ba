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
    env: {NO_COLOR: '1'},
  },
})
