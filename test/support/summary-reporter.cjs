// Prints the reliability suite's table (when fault tests ran) and one plain closing line,
// "tests: N passed, N failed, N skipped", that CI and people can read without parsing Jest's own
// summary.
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const COLUMNS = ['test', 'sent', 'acknowledged', 'stored', 'lost', 'duplicated', 'badTried', 'badRefused', 'alertsExpected', 'alertsRaised', 'longestAlertGapS'];
const HEADINGS = ['fault test', 'readings sent', 'acknowledged', 'stored', 'lost', 'duplicated', 'bad inputs tried', 'refused', 'alerts expected', 'alerts raised', 'longest gap in alerting (s)'];

class SummaryReporter {
  constructor() {
    // Set before Jest starts its workers, which inherit it (test/support/fault-summary.ts).
    this.faultFile = join(tmpdir(), `rpm-fault-summary-${process.pid}-${Date.now()}.jsonl`);
    process.env.RPM_FAULT_SUMMARY_FILE = this.faultFile;
  }

  onRunComplete(_contexts, results) {
    if (existsSync(this.faultFile)) {
      const rows = readFileSync(this.faultFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
      rmSync(this.faultFile, { force: true });
      const cell = (value) => (value === undefined ? '–' : String(value));
      const lines = [HEADINGS, ...rows.map((row) => COLUMNS.map((c) => cell(row[c])))];
      const widths = HEADINGS.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
      process.stdout.write('\nreliability suite:\n');
      for (const line of lines) process.stdout.write(`  ${line.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')}\n`);
      const lost = rows.reduce((sum, row) => sum + (row.lost ?? 0), 0);
      const duplicated = rows.reduce((sum, row) => sum + (row.duplicated ?? 0), 0);
      process.stdout.write(`  total lost ${lost}, total duplicated ${duplicated}\n`);
    }
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(
      `\ntests: ${results.numPassedTests} passed, ${failed} failed, ${results.numPendingTests + results.numTodoTests} skipped\n`,
    );
  }
}
module.exports = SummaryReporter;
