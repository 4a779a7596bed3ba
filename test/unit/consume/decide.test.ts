import {describe, expect, it} from 'vitest'

import {backoffDelay, decide, type HandlerOutcome} from '../../../src/consume/decide.js'
import {handlerArgv} from '../../../src/consume/resolve-handler.js'

const policy = {backoffMs: 1000, maxAttempts: 3, maxBackoffMs: 10_000, random: () => 1}
const exit = (code: number): HandlerOutcome => ({code, durationMs: 5, kind: 'exit', stderrTail: 'oops\n'})

describe('decide: what a handler outcome means', () => {
  it('acks on exit 0', () => {
    expect(decide(exit(0), 1, policy)).toEqual({action: 'ack'})
  })

  it.each([75, 111, 1, 3, 127])('retries exit %i while attempts remain', (code) => {
    expect(decide(exit(code), 1, policy)).toMatchObject({action: 'retry', delayMs: 1000})
  })

  it('retries a signal or a timeout as a failed attempt', () => {
    expect(decide({durationMs: 1, kind: 'signal', signal: 'SIGKILL', stderrTail: ''}, 2, policy)).toMatchObject({
      action: 'retry',
      why: 'killed by SIGKILL',
    })
    expect(decide({durationMs: 1, kind: 'timeout', stderrTail: '', timeoutMs: 500}, 1, policy)).toMatchObject({
      action: 'retry',
      why: 'timed out after 500ms',
    })
  })

  it('dead-letters exit 100 at once, keeping exit status and stderr tail', () => {
    expect(decide(exit(100), 1, policy, 42)).toEqual({
      action: 'dead',
      reason: {at: 42, attempts: 1, exitCode: 100, lastError: 'permanent failure (exit status 100)', reason: 'rejected', stderrTail: 'oops\n'},
    })
  })

  it('dead-letters when the last attempt fails, temporary failures included', () => {
    expect(decide(exit(3), 3, policy)).toMatchObject({action: 'dead', reason: {attempts: 3, reason: 'max_attempts'}})
    expect(decide(exit(75), 3, policy)).toMatchObject({action: 'dead', reason: {reason: 'max_attempts'}})
  })
})

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, policy))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000])
  })

  it('jitters between half and all of the nominal delay', () => {
    expect(backoffDelay(3, {...policy, random: () => 0})).toBe(2000)
    expect(backoffDelay(3, {...policy, random: () => 0.5})).toBe(3000)
  })
})

describe('handlerArgv', () => {
  it('splits --exec like a shell, without one', () => {
    expect(handlerArgv('/bin/echo "a b" c', undefined, ['d'])).toEqual(['/bin/echo', 'a b', 'c', 'd'])
  })

  it('refuses shell operators in --exec and points at --shell', () => {
    expect(() => handlerArgv('/bin/echo a | wc', undefined, [])).toThrow(/--shell/)
  })

  it('wraps --shell in /bin/sh -c', () => {
    expect(handlerArgv(undefined, 'echo $MQ_ID', [])).toEqual(['/bin/sh', '-c', 'echo $MQ_ID', 'mq-handler'])
  })

  it('fails early with 69 when the program does not exist', () => {
    expect(() => handlerArgv('./no-such-handler', undefined, [])).toThrow(expect.objectContaining({exitCode: 69}))
  })
})
