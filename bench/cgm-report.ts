// The one-page CGM report (fhir/cgm-report-pdf.ts) a submission to an EHR carries and the console
// downloads: the PDF of a 14-day summary of 5-minute readings, against computing that summary from
// its points in the same run (what every submission did before it carried a report). The ratio
// says what the report adds to each submission's CPU.
import { cgmReportPdf } from '../fhir/cgm-report-pdf.js';
import { cgmSummary } from '../store/index.js';

export interface CgmReportBenchResult {
  runs: number;
  /** Median milliseconds to compute the summary of 4,032 points. */
  summaryMs: number;
  /** Median milliseconds to draw its PDF report. */
  reportMs: number;
  reportBytes: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchCgmReport(runs: number): Promise<CgmReportBenchResult> {
  const toMs = Date.parse('2026-12-01T06:00:00Z');
  const fromMs = toMs - 14 * 86_400_000;
  const points = Array.from({ length: 14 * 288 }, (_, i) => ({ epochMs: fromMs + i * 300_000, value: Math.round(150 + 70 * Math.sin(i / 40) + (i % 11) * 4) }));
  const window = { fromMs, toMs, timezone: 'America/Chicago' };
  const patient = { id: 'bench-patient', name: 'Łukasz Żółć-Şükrü', birthDate: '1960-01-01', timezone: 'America/Chicago' };
  const summaryMs: number[] = [];
  const reportMs: number[] = [];
  let reportBytes = 0;
  // One draw first: the font files are read and parsed once per process.
  await cgmReportPdf({ patient, period: { start: '2026-11-17', end: '2026-11-30', days: 14 }, summary: cgmSummary(points, window), issued: new Date().toISOString() });
  for (let run = 0; run < runs; run += 1) {
    let started = performance.now();
    const summary = cgmSummary(points, window);
    summaryMs.push(performance.now() - started);
    started = performance.now();
    const pdf = await cgmReportPdf({ patient, period: { start: '2026-11-17', end: '2026-11-30', days: 14 }, summary, issued: new Date().toISOString() });
    reportMs.push(performance.now() - started);
    reportBytes = pdf.length;
  }
  return { runs, summaryMs: Math.round(median(summaryMs) * 100) / 100, reportMs: Math.round(median(reportMs) * 100) / 100, reportBytes };
}
