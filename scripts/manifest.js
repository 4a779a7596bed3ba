#!/usr/bin/env node
// Writes oclif.manifest.json (the commands' metadata) at build time, so oclif does not import
// every command file to list them. Same content as `oclif manifest`, without that ~155 MB tool.
// Not committed (.gitignore): a stale manifest would hide new commands.
import {Config} from '@oclif/core'
import {rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// oclif reads an existing manifest instead of the commands: start from none.
rmSync(join(root, 'oclif.manifest.json'), {force: true})
const config = await Config.load({root})
const plugin = config.plugins.get(config.pjson.name)
const manifest = {commands: plugin.manifest.commands, version: config.version}
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
console.error(`oclif.manifest.json: ${Object.keys(manifest.commands).length} commands`)
