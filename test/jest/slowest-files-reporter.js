// Prints the ten slowest test files after a run, so the suite's time stays visible,
// and a plain closing line ('tests: N passed, N failed') that CI can read.
class SlowestFilesReporter {
  onRunComplete(_contexts, results) {
    const files = results.testResults
      .map((r) => ({ file: r.testFilePath.replace(`${process.cwd()}/`, ''), seconds: (r.perfStats.end - r.perfStats.start) / 1000 }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 10);
    if (files.length > 0) {
      const lines = files.map((f) => `  ${f.seconds.toFixed(1).padStart(7)} s  ${f.file}`);
      process.stderr.write(`\nslowest test files:\n${lines.join('\n')}\n`);
    }
    process.stderr.write(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests + results.numRuntimeErrorTestSuites} failed\n`);
  }
}
module.exports = SlowestFilesReporter;
