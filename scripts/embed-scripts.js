#!/usr/bin/env node
// Embeds the engines' server-side code, written in its own language, into a module the engine
// imports: src/backends/redis/lua/*.lua become src/backends/redis/lua.generated.ts, each script
// with lua/prelude.lua put at its top (included once, in one place, not pasted into each), and
// src/backends/postgres/sql/*.sql become src/backends/postgres/sql.generated.ts, as written.
// Run by `npm run build` before tsc; the output is not committed (.gitignore), so it cannot go
// stale. Full-line "--" comments (each script's contract and race notes) are left out of what is
// sent to the server; {{NAME}} placeholders are src/policy.ts's constants, put in at load.
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const strip = (text) => text.split('\n').filter((l) => !/^\s*--/.test(l) && l.trim() !== '').join('\n')

const dir = join(root, 'src', 'backends', 'redis', 'lua')
const prelude = strip(readFileSync(join(dir, 'prelude.lua'), 'utf8'))
// A line "--@include NAME" puts lua/_NAME.lua (a transition written as a function, shared by
// scripts that compose transitions) there; files named _*.lua are not scripts of their own.
const withIncludes = (text) => text.replaceAll(/^--@include (\w+)$/gm, (_, name) => readFileSync(join(dir, `_${name}.lua`), 'utf8'))
const scripts = {}
for (const f of readdirSync(dir).filter((n) => n.endsWith('.lua') && n !== 'prelude.lua' && !n.startsWith('_')).sort()) {
  scripts[f.replace(/\.lua$/, '')] = `${prelude}\n${strip(withIncludes(readFileSync(join(dir, f), 'utf8')))}\n`
}
writeFileSync(
  join(root, 'src', 'backends', 'redis', 'lua.generated.ts'),
  `// Generated from src/backends/redis/lua/*.lua by scripts/embed-scripts.js (npm run build). Do not edit.\n` +
    `export const LUA: Record<string, string> = ${JSON.stringify(scripts, null, 2)}\n`,
)
console.error(`lua.generated.ts: ${Object.keys(scripts).length} scripts`)

const sqlDir = join(root, 'src', 'backends', 'postgres', 'sql')
const sql = {}
for (const f of readdirSync(sqlDir).filter((n) => n.endsWith('.sql')).sort()) sql[f.replace(/\.sql$/, '')] = readFileSync(join(sqlDir, f), 'utf8')
writeFileSync(
  join(root, 'src', 'backends', 'postgres', 'sql.generated.ts'),
  `// Generated from src/backends/postgres/sql/*.sql by scripts/embed-scripts.js (npm run build). Do not edit.\n` +
    `export const SQL: Record<string, string> = ${JSON.stringify(sql, null, 2)}\n`,
)
console.error(`sql.generated.ts: ${Object.keys(sql).length} files`)
