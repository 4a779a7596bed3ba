#!/usr/bin/env node
// The hot commands (push, pop, ack, nack) first try a path that does not load oclif (~70 ms):
// one pre-bundled CommonJS file, loaded with require (a dynamic import() leaves a file-handle
// close pending that delays exit by ~20 ms). It declines anything unusual, and oclif then runs
// the command line as usual.
import {createRequire} from 'node:module'

const hot = ['push', 'pop', 'ack', 'nack'].includes(process.argv[2]) && !process.env.MQ_NO_FAST
if (!(hot && (await createRequire(import.meta.url)('../dist/fast.cjs').runFast(process.argv.slice(2))))) {
  const {execute} = await import('@oclif/core')
  // mq has no user-installed plugins: do not read ~/.local/share/mq (another user's, under sudo).
  await execute({loadOptions: {root: new URL('..', import.meta.url).pathname, userPlugins: false}})
}
