import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {COMMANDS, COMMON_FLAGS} from '../../src/cli/grammar.js'
import {EXIT} from '../../src/exit-codes.js'
import {ROOT} from '../support/helpers.js'

const manPage = readFileSync(join(ROOT, 'man', 'mq.1'), 'utf8')
const unroff = (s: string) => s.replaceAll('\\-', '-')

describe('man/mq.1 keeps up with the code', () => {
  it('lists every exit status of src/exit-codes.ts', () => {
    const table = manPage.slice(manPage.indexOf('.SH EXIT STATUS'), manPage.indexOf('.SH ENVIRONMENT'))
    for (const code of Object.values(EXIT)) expect(table).toMatch(new RegExp(`^${code}\\t`, 'm'))
  })

  it('documents every command and every one of its flags', () => {
    const page = unroff(manPage)
    for (const [name, spec] of Object.entries(COMMANDS)) {
      expect(page, `command ${name}`).toContain(`mq ${name}`)
      for (const [flag, f] of Object.entries(spec.flags)) if (!f.refuse) expect(page, `${name} --${flag}`).toContain(`--${flag}`)
    }
    for (const flag of Object.keys(COMMON_FLAGS)) expect(page).toContain(`--${flag}`)
    // the commands that are not in the grammar: completion (oclif's plugin and our fish script)
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    for (const id of Object.keys(manifest.commands)) expect(page, id).toContain(`mq ${id.replaceAll(':', ' ')}`)
    expect(page).toContain('mq autocomplete')
  })
})
