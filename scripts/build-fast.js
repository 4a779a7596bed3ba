#!/usr/bin/env node
// Bundles the fast path (src/cli/fast.ts: the hot verbs without oclif) once per engine family:
//
//   dist/fast.cjs            the spool (no URL, file:)
//   dist/fast-redis.cjs      redis:, rediss:
//   dist/fast-postgres.cjs   postgres:, postgresql:
//   dist/fast-rabbitmq.cjs   amqp:, amqps:
//   dist/relay-helper.cjs    the push relay's process (src/relay/helper.ts)
//   dist/pg-lean.cjs, dist/pg-sql.cjs   parts of the PostgreSQL engine loaded when used (CHUNKS)
//
// bin/run.cjs picks one from the command line's URL before loading anything. Why several: a
// one-shot command's start-up is dominated by V8 parsing what it loads (README, Performance), and
// one bundle of every engine's client is 1.2 MB, about 30 ms of parsing on a loaded machine for a
// spool push that uses a fifth of it. Each bundle holds one engine: the others, and what only
// the non-hot verbs use (the dashboard), are stubs that decline (src/cli/decline.ts), so a wrong
// pick costs time, never a wrong answer: the fast path declines and oclif runs the command line
// over the full modules in dist/.
import {build} from 'esbuild'
import {readFileSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const decline = join(root, 'src', 'cli', 'decline.ts')

/** Each engine module the registry imports, by directory, and the class it exports. */
const ENGINES = {memory: 'MemoryBackend', postgres: 'PostgresBackend', rabbitmq: 'RabbitBackend', redis: 'RedisBackend', spool: 'SpoolBackend'}
/**
 * Modules of an engine that a hot verb does not always run, each bundled apart and required when
 * first imported (a dynamic import): PostgreSQL's lean connection, which a push handed to the relay
 * (src/relay/) never opens, and the SQL that installs its schema, which a schema already installed
 * never needs. Each is self-contained (no class of mq's that the engine's bundle also has: an
 * error made there would not be an instance of the engine bundle's class).
 */
const CHUNKS = {'pg-lean': 'src/backends/postgres/lean.ts', 'pg-sql': 'src/backends/postgres/sql.generated.ts'}
/** The full clients, bundled apart as dist/vendor-NAME.cjs and required when used (see stubs). */
const CLIENTS = ['ioredis', 'pg']
/** The ESM-only packages a hot verb imports, bundled as CommonJS: dist/vendor-NAME.cjs (see stubs). */
const VENDORED = ['chalk', 'ora']
/** A module name matching exactly one of `names`. */
const oneOf = (names) => new RegExp(`^(${names.join('|')})$`)
const BUNDLES = {fast: ['spool'], 'fast-postgres': ['postgres'], 'fast-rabbitmq': ['rabbitmq'], 'fast-redis': ['redis']}

/** Stubs every engine but `keep`, and the dashboard: importing one is fine, using one declines. */
const stubs = (keep) => ({
  name: 'mq-fast-stubs',
  setup(b) {
    b.onResolve({filter: /^\.\/(memory|postgres|rabbitmq|redis|spool)\/index\.js$/}, (args) => {
      const engine = /^\.\/(\w+)\//.exec(args.path)[1]
      if (keep.includes(engine) || !args.importer.endsWith(join('src', 'backends', 'index.ts'))) return undefined
      return {namespace: 'mq-stub', path: engine}
    })
    // The full clients, for clusters and TLS, in bundles of their own: a hot verb
    // connects through the lean ones (OpenOptions.lean) and does not parse them.
    // (A require, not an external import(): Node's import() of a bundle finds no named exports.)
    b.onResolve({filter: oneOf(CLIENTS)}, (args) => ({namespace: 'mq-vendor', path: args.path}))
    // No import() left in a bundle: bin/run.cjs compiles it with vm.Script (for V8's code cache),
    // where import() has no loader. What the hot verbs import when used: ESM-only packages (the
    // colours and the spinner, on a terminal) as bundles of their own (VENDORED), required;
    // CommonJS ones and Node's own modules, required.
    b.onResolve({filter: oneOf(VENDORED)}, (args) => (args.kind === 'dynamic-import' ? {namespace: 'mq-vendor-esm', path: args.path} : undefined))
    // (As ES modules re-exporting the bundle's exports: an import() of CommonJS would give the
    // whole exports object as its default, Node's way, where ora's default is its function.)
    b.onLoad({filter: /.*/, namespace: 'mq-vendor-esm'}, (args) => ({contents: `export * from './vendor-${args.path}.cjs'\nexport {default} from './vendor-${args.path}.cjs'\n`, loader: 'js'}))
    b.onResolve({filter: /^(proper-lockfile|node:[\w/]+)$/}, (args) => (args.kind === 'dynamic-import' ? {namespace: 'mq-require', path: args.path} : undefined))
    b.onLoad({filter: /.*/, namespace: 'mq-require'}, (args) => ({contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js'}))
    b.onLoad({filter: /.*/, namespace: 'mq-vendor'}, (args) => ({contents: `module.exports = require('./vendor-${args.path}.cjs')`, loader: 'js'}))
    b.onResolve({filter: /^\.\/vendor-/}, (args) => ({external: true, path: args.path}))
    // redis-errors asserts two things with node:assert, which costs ~2 ms to load: a shim of those two.
    b.onResolve({filter: /^assert$/}, (args) => (/redis-errors/.test(args.importer) ? {path: join(root, 'scripts', 'shims', 'assert.cjs')} : undefined))
    // What only some runs of a hot verb use, in bundles of their own (CHUNKS), required when imported.
    b.onResolve({filter: /^\.\/[\w.-]+\.js$/}, (args) => {
      const chunk = Object.entries(CHUNKS).find(([, file]) => join(args.resolveDir, args.path.replace(/\.js$/, '.ts')) === join(root, file))
      return chunk && args.kind === 'dynamic-import' && !args.importer.endsWith(CHUNKS[chunk[0]]) ? {namespace: 'mq-chunk', path: chunk[0]} : undefined
    })
    b.onLoad({filter: /.*/, namespace: 'mq-chunk'}, (args) => ({contents: `module.exports = require('./${args.path}.cjs')`, loader: 'js'}))
    b.onResolve({filter: /^\.\/pg-[\w-]+\.cjs$/}, (args) => ({external: true, path: args.path}))
    b.onResolve({filter: /^\.\/actions\/dashboard\.js$/}, () => ({namespace: 'mq-stub', path: 'dashboard'}))
    b.onLoad({filter: /.*/, namespace: 'mq-stub'}, (args) => ({
      contents:
        args.path === 'dashboard'
          ? `import {declined} from ${JSON.stringify(decline)}\nexport function dashboardAction() { throw declined('the dashboard') }\n`
          : `import {declined} from ${JSON.stringify(decline)}\nexport class ${ENGINES[args.path]} { constructor() { throw declined(${JSON.stringify(args.path)}) } }\n`,
      loader: 'ts',
      resolveDir: root,
    }))
  },
})

// Less to parse at every start: whitespace and syntax minified. Identifiers are not: a name read
// in a profile or a debugger should still mean something. MQ_NO_MINIFY=1 builds them readable
// (for --cpu-prof: a minified bundle is a few very long lines).
const minify = !process.env.MQ_NO_MINIFY
// A bundle is CommonJS: code that finds its own file reads __dirname there (src/relay/protocol.ts), never import.meta.url.
const common = {bundle: true, define: {'import.meta.url': 'undefined'}, format: 'cjs', logLevel: 'warning', minifySyntax: minify, minifyWhitespace: minify, platform: 'node', target: 'node20'}
await Promise.all([
  ...[...CLIENTS, ...VENDORED].map((pkg) => build({...common, entryPoints: [pkg], external: ['pg-native'], outfile: join(root, 'dist', `vendor-${pkg}.cjs`)})),
  ...Object.entries(BUNDLES).map(([name, keep]) =>
    build({
      ...common,
      entryPoints: [join(root, 'src', 'cli', 'fast.ts')],
      external: ['proper-lockfile'],
      outfile: join(root, 'dist', `${name}.cjs`),
      plugins: [stubs(keep)],
    }),
  ),
  ...Object.entries(CHUNKS).map(([name, file]) => build({...common, entryPoints: [join(root, file)], outfile: join(root, 'dist', `${name}.cjs`), plugins: [stubs([])]})),
  // The push relay (src/relay/): PostgreSQL's engine alone, as its fast path has it.
  build({...common, entryPoints: [join(root, 'src', 'relay', 'helper.ts')], outfile: join(root, 'dist', 'relay-helper.cjs'), plugins: [stubs(['postgres'])]}),
])

// What bin/run.cjs relies on to compile a bundle itself: no import() in it (see stubs).
for (const name of Object.keys(BUNDLES)) {
  const text = readFileSync(join(root, 'dist', `${name}.cjs`), 'utf8')
  const at = /(?<![\w$.])import\(/.exec(text)
  if (at) throw new Error(`dist/${name}.cjs: import() at ${at.index} (${text.slice(at.index, at.index + 40)}): route it through stubs() in scripts/build-fast.js`)
}
// Code caches of the bundles just replaced (bin/run.cjs keys them by the bundle's size and change
// time, so none would be read again): removed.
rmSync(join(root, 'dist', '.code-cache'), {force: true, recursive: true})
