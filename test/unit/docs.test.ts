import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {EXIT} from '../../src/exit-codes.js'
import {ROOT} from '../support/helpers.js'

const manPage = readFileSync(join(ROOT, 'man', 'mq.1'), 'utf8')
const unroff = (s: string) => s.replaceAll('\\-', '-')

describe('man/mq.1 keeps up with the code', () => {
  it('lists every exit status of src/exit-codes.ts', () => {
    const table = manPage.slice(manPage.indexOf('.SH EXIT STATUS'), manPage.indexOf('.SH ENVIRONMENT'))
    for (const code of Object.values(EXIT)) expect(table).toMatch(new RegExp(`^${code}\\t`, 'm'))
  })

  it('documents every command and every one of its flags', async () => {
    for (const file of readdirSync(join(ROOT, 'src', 'commands'))) {
      const name = file.replace(/\.ts$/, '')
      const {default: Cmd} = await import(`../../src/commands/${name}.ts`)
      expect(unroff(manPage), `command ${name}`).toContain(`mq ${name}`)
      for (const flag of Object.keys(Cmd.flags ?? {})) expect(unroff(manPage), `${name} --${flag}`).toContain(`--${flag}`)
    }
  })
})
