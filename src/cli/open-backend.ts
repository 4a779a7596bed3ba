import {type Backend} from '../backend.js'
import {openBackend} from '../backends/index.js'
import {setQuarantineLogger} from '../spool/quarantine.js'

/** The backend for a command line (oclif or the fast path): quarantine notices go to stderr. */
export function openCliBackend(flags: {spool?: string; url?: string}): Backend {
  setQuarantineLogger((line) => process.stderr.write(line + '\n'))
  return openBackend(flags)
}
