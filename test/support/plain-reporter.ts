import type {Reporter, TestModule} from 'vitest/node'

/**
 * Prints the closing line CI reads: "N passed, N failed, N skipped". A test file that fails to
 * load (syntax error, import error) counts as one failed test, so it cannot pass silently.
 */
export default class PlainReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const m of modules) {
      let failedHere = 0
      for (const t of m.children.allTests()) {
        const state = t.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failedHere++
        else skipped++
      }
      // A file that failed without a failing test (it did not load, or a hook threw) counts once.
      failed += failedHere || (m.state() === 'failed' ? 1 : 0)
    }
    failed += errors.length
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
