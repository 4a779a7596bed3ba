#!/usr/bin/env node
// CommonJS on purpose: an ES module entry point costs ~5 ms more to start (README, Performance).
// The hot verbs (push, pop, ack, nack, consume) first try a pre-bundled path that does not load oclif
// (src/cli/fast.ts); it declines anything unusual, and oclif then runs the command line.
'use strict'
// Global options before the command (mq --url URL stats) move after it, for both paths alike.
if (process.argv[2] && process.argv[2].startsWith('--')) process.argv.splice(2, Infinity, ...require('../dist/fast.cjs').hoistGlobalOptions(process.argv.slice(2)))
const hot = ['push', 'pop', 'ack', 'nack', 'consume'].includes(process.argv[2]) && !process.env.MQ_NO_FAST
const fast = hot ? require('../dist/fast.cjs').runFast(process.argv.slice(2)) : Promise.resolve(false)
fast.then(async (done) => {
  if (done) return
  const {execute} = await import('@oclif/core')
  // mq has no user-installed plugins: do not read ~/.local/share/mq (another user's, under sudo).
  await execute({loadOptions: {root: require('node:path').resolve(__dirname, '..'), userPlugins: false}})
})
