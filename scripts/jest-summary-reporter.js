// Prints the closing line CI reads ("N passed, N failed"); a suite that could not run counts as failed.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    console.log(`${results.numPassedTests} passed, ${failed} failed`);
  }
}
module.exports = SummaryReporter;
