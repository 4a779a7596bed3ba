#!/usr/bin/env node
// CommonJS on purpose: an ES module entry point costs ~5 ms more to start (README, Performance).
// The hot verbs (push, pop, ack, nack, consume) first try a pre-bundled path that does not load oclif
// (src/cli/fast.ts); it declines anything unusual, and oclif then runs the command line.
'use strict'
// Global options before the command (mq --url URL stats) move after it, for both paths alike.
if (process.argv[2] && process.argv[2].startsWith('--')) process.argv.splice(2, Infinity, ...require('../dist/fast.cjs').hoistGlobalOptions(process.argv.slice(2)))
const hot = ['push', 'pop', 'ack', 'nack', 'consume'].includes(process.argv[2]) && !process.env.MQ_NO_FAST
const fast = hot ? require(`../dist/${bundleFor(process.argv.slice(3))}.cjs`).runFast(process.argv.slice(2)) : Promise.resolve(false)
fast.then(async (done) => {
  if (done) return
  const {execute} = await import('@oclif/core')
  // mq has no user-installed plugins: do not read ~/.local/share/mq (another user's, under sudo).
  await execute({loadOptions: {root: require('node:path').resolve(__dirname, '..'), userPlugins: false}})
})

/**
 * The fast path's bundle for this command line (scripts/build-fast.js): one per engine, since
 * parsing every engine's client costs a one-shot command more than its work. The URL is found as
 * src/cli/open-backend.ts finds it (--url, else $MQ_URL unless --spool); a wrong guess only
 * costs time: that bundle declines and oclif runs the command.
 */
function bundleFor(args) {
  const end = args.indexOf('--')
  const words = end < 0 ? args : args.slice(0, end)
  let url
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '--url') url = words[i + 1]
    else if (words[i].startsWith('--url=')) url = words[i].slice(6)
  }
  if (url === undefined && !words.some((w) => w === '--spool' || w.startsWith('--spool='))) url = process.env.MQ_URL
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url || '')
  const family = {amqp: 'rabbitmq', amqps: 'rabbitmq', postgres: 'postgres', postgresql: 'postgres', redis: 'redis', rediss: 'redis'}
  const engine = scheme && family[scheme[1].toLowerCase()]
  return engine ? `fast-${engine}` : 'fast'
}
