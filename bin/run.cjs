#!/usr/bin/env node
// CommonJS on purpose: an ES module entry point costs ~5 ms more to start (README, Performance).
// The hot verbs (push, pop, ack, nack, consume) first try a pre-bundled path that does not load oclif
// (src/cli/fast.ts); it declines anything unusual, and oclif then runs the command line.
'use strict'
// Global options before the command (mq --url URL stats) move after it, for both paths alike.
if (process.argv[2] && process.argv[2].startsWith('--')) process.argv.splice(2, Infinity, ...loadBundle('fast').hoistGlobalOptions(process.argv.slice(2)))
const hot = ['push', 'pop', 'ack', 'nack', 'consume'].includes(process.argv[2]) && !process.env.MQ_NO_FAST
const fast = hot ? loadBundle(bundleFor(process.argv.slice(3))).runFast(process.argv.slice(2)) : Promise.resolve(false)
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

/**
 * dist/NAME.cjs as require() loads it, compiled with V8's code cache: a one-shot command's start-up
 * is mostly compiling (README, Performance), and a cache written after a run holds the functions
 * that run compiled, so the next run neither parses nor compiles them (about 5 ms of a cold push
 * here). Node 22 has this built in (module.enableCompileCache); Node 20 does not.
 *
 * The cache is dist/.code-cache/NAME-KEY.v8, KEY naming Node's version and the bundle's size and
 * change time (ctime: whatever writes the file, a build, npm, a copy, sets it to now, where npm
 * sets every mtime to one date), so a bundle built or installed again never reads an old cache;
 * scripts/build-fast.js also removes them. V8 checks a cache too (its version, its flags, the
 * source's length, not its text: hence the key) and, when they differ, rejects it and compiles as
 * usual: the command is the same, only slower. It is written at exit, when there
 * was none or V8 rejected it, to a temporary name renamed into place (racing commands each write
 * a whole file; a reader sees one whole file). Where dist/ is not writable (an install owned by
 * another user) nothing is written. MQ_CODE_CACHE=off loads the bundle with require().
 * (The bundles hold no import(): a script compiled here has no loader for it; see build-fast.js.)
 */
function loadBundle(name) {
  return (loadBundle[name] ??= compileBundle(name))
}

function compileBundle(name) {
  const {dirname, join} = require('node:path')
  const fs = require('node:fs')
  const file = join(__dirname, '..', 'dist', `${name}.cjs`)
  if (process.env.MQ_CODE_CACHE === 'off') return require(file)
  const vm = require('node:vm')
  const source = fs.readFileSync(file, 'utf8')
  const {ctimeNs, size} = fs.statSync(file, {bigint: true})
  const dir = join(dirname(file), '.code-cache')
  const cacheFile = join(dir, `${name}-${process.version}-${process.arch}-${size}-${ctimeNs}.v8`)
  let cachedData
  try {
    cachedData = fs.readFileSync(cacheFile)
  } catch {}
  // The wrapper require() puts around a CommonJS module, on the first line: line numbers hold.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {cachedData, filename: file})
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`
      try {
        fs.mkdirSync(dir, {recursive: true})
        fs.accessSync(dir, fs.constants.W_OK)
        fs.writeFileSync(tmp, script.createCachedData())
        fs.renameSync(tmp, cacheFile)
      } catch {
        fs.rmSync(tmp, {force: true})
      }
    })
  }
  const module = {exports: {}, filename: file, id: file, loaded: false}
  script.runInThisContext()(module.exports, require('node:module').createRequire(file), module, file, dirname(file))
  module.loaded = true
  return module.exports
}
