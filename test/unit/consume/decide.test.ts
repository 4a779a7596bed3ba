import {describe, expect, it} from 'vitest'

import {backoffDelay, decide, type HandlerOutcome} from '../../../src/consume/decide.js'
import {handlerArgv} from '../../../src/consume/resolve-handler.js'

const policy = {backoffMs: 1000, maxBackoffMs: 10_000, random: () => 1}
const exit = (code: number): HandlerOutcome => ({code, durationMs: 5, kind: 'exit', stderrTail: 'oops\n'})

describe('decide: what a handler outcome means', () => {
  it('acks on exit 0', () => {
    expect(decide(exit(0), 1, policy)).toEqual({action: 'ack'})
  })

  it.each([75, 111, 1, 3, 127])('retries exit %i (a counted release: the queue decides whether it was the last)', (code) => {
    expect(decide(exit(code), 1, policy)).toMatchObject({action: 'retry', delayMs: 1000})
  })

  it('retries a signal or a timeout as a failed attempt', () => {
    expect(decide({durationMs: 1, kind: 'signal', signal: 'SIGKILL', stderrTail: ''}, 2, policy)).toMatchObject({
      action: 'retry',
      failure: {lastError: 'killed by SIGKILL', signal: 'SIGKILL'},
    })
    expect(decide({durationMs: 1, kind: 'timeout', stderrTail: '', timeoutMs: 500}, 1, policy)).toMatchObject({
      action: 'retry',
      failure: {lastError: 'timed out after 500ms'},
    })
  })

  it('dead-letters exit 100 at once, keeping exit status and stderr tail', () => {
    expect(decide(exit(100), 1, policy)).toEqual({
      action: 'dead',
      failure: {exitCode: 100, lastError: 'permanent failure (exit status 100)', stderrTail: 'oops\n'},
    })
  })

  it('a failure at any attempt is a retry for the worker: exhaustion is the queue’s rule, not the consumer’s', () => {
    expect(decide(exit(3), 99, policy)).toMatchObject({action: 'retry', failure: {exitCode: 3}})
    expect(decide(exit(75), 99, policy)).toMatchObject({action: 'retry', failure: {lastError: 'temporary failure (exit status 75)'}})
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
