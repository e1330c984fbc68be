// Prints the ten slowest test files after a run, so the suite's time stays visible.
class SlowestFilesReporter {
  onRunComplete(_contexts, results) {
    const files = results.testResults
      .map((r) => ({ file: r.testFilePath.replace(`${process.cwd()}/`, ''), seconds: (r.perfStats.end - r.perfStats.start) / 1000 }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 10);
    if (files.length === 0) return;
    const lines = files.map((f) => `  ${f.seconds.toFixed(1).padStart(7)} s  ${f.file}`);
    process.stdout.write(`\nslowest test files:\n${lines.join('\n')}\n`);
  }
}
module.exports = SlowestFilesReporter;
