/**
 * Crash points for tests: `MQ_TEST_CRASH_AT=NAME` makes the process kill itself with SIGKILL
 * when it reaches the point NAME, so that tests can leave exactly the state a producer or
 * consumer killed at that moment leaves (test/e2e/hardening.test.ts). Without the variable this
 * is one comparison with undefined.
 */
const at = process.env.MQ_TEST_CRASH_AT

export function crashPoint(name: string): void {
  if (at === name) process.kill(process.pid, 'SIGKILL')
}
