// A patient's CGM summary as the one-page report clinicians read: the Ambulatory Glucose Profile
// (AGP) layout of the International Consensus on Time in Range (Battelino et al., Diabetes Care
// 2019): the glucose statistics with their targets, the time in ranges as one stacked bar, and the
// 24-hour profile of the period's readings (median, 25–75th and 5–95th percentiles of each hour of
// the patient's local day). It is the HL7 CGM IG's "CGM Summary PDF Report" (a DiagnosticReport's
// presentedForm, fhir/cgm-summary.ts) and what `GET /v1/patients/:id/cgm-report` answers.
// Drawn with pdfkit in DejaVu Sans (reports/pdf-document.ts).
import { INK, MUTED, PAGE, number, printable, startReport } from '../reports/pdf-document.js';
import { CGM_TARGETS, cgmFlags, type CgmFlag, type CgmSummary } from '../store/index.js';

export interface CgmReportInput {
  patient: { id: string; name: string; birthDate: string; timezone: string };
  /** The first and last local dates of the period, both whole days, and how many days it has. */
  period: { start: string; end: string; days: number };
  summary: CgmSummary;
  /** When the report was made (ISO instant). */
  issued: string;
}

/** The AGP's range colours (the consensus's report: oranges above, greens in range, reds below). */
const RANGE_COLOURS = { veryHigh: '#e8711a', high: '#f5b335', inRange: '#3a9c4e', low: '#d9342b', veryLow: '#8c1c13' } as const;
const BAND_OUTER = '#c6dbef';
const BAND_INNER = '#6baed6';
const MEDIAN = '#08306b';
/** The profile's glucose axis, mg/dL: readings above are drawn at its top. */
const AXIS_MAX = 350;

/** The targets a clinician is told were missed, in words (the population view's flags). */
const MISSED: Record<CgmFlag, string> = {
  no_data: 'no readings',
  very_low: 'time below 54 mg/dL',
  low: 'time below 70 mg/dL',
  tir_drop: 'drop in time in range',
  low_tir: 'time in range',
  very_high: 'time above 250 mg/dL',
  high: 'time above 180 mg/dL',
  unstable: 'glucose variability',
  low_wear: 'sensor wear',
};

/** The report as PDF bytes. */
export async function cgmReportPdf(input: CgmReportInput): Promise<Buffer> {
  const { patient, period, summary, issued } = input;
  const { doc, finish } = startReport({ title: `CGM summary report ${period.start} to ${period.end}`, subject: 'Ambulatory glucose profile', issued });

  const left = PAGE.margin;
  const width = PAGE.width - 2 * PAGE.margin;
  doc.fillColor(INK).font('bold').fontSize(16).text('Continuous glucose monitoring: summary report', left, 40);
  doc.font('regular').fontSize(9).fillColor(MUTED).text('Ambulatory glucose profile (AGP), International Consensus on Time in Range', left, 60);
  doc.fillColor(INK).fontSize(10);
  doc.font('bold').text(printable(patient.name), left, 82, { continued: true }).font('regular').text(`    born ${patient.birthDate}    patient id ${printable(patient.id)}`);
  doc.text(`${period.start} to ${period.end} (${period.days} ${period.days === 1 ? 'day' : 'days'}), times of day in ${printable(patient.timezone)}`, left, 97);
  doc.moveTo(left, 115).lineTo(left + width, 115).lineWidth(0.5).strokeColor('#999999').stroke();

  if (summary.readings < 2 || summary.meanMgdl === null) {
    doc.font('bold').fontSize(12).text(summary.readings === 0 ? 'No CGM readings in this period.' : 'Too few CGM readings in this period for a summary (one reading).', left, 135);
  } else {
    statistics(doc, summary, period.days, left, 130);
    timeInRanges(doc, summary, left + 290, 130);
    const missed = cgmFlags(summary).map((flag) => MISSED[flag]);
    doc
      .font('bold')
      .fontSize(9.5)
      .fillColor(INK)
      .text(missed.length === 0 ? 'Every consensus target met.' : `Targets missed: ${missed.join(', ')}.`, left, 345, { width });
    profile(doc, summary, period.days, left, 380, width, 320);
  }
  footer(doc, issued);
  return finish();
}

function statistics(doc: PDFKit.PDFDocument, summary: CgmSummary, days: number, x: number, y: number): void {
  doc.font('bold').fontSize(11).fillColor(INK).text('Glucose statistics and targets', x, y);
  const rows: [string, string, string][] = [
    ['Readings', summary.readings.toLocaleString('en-US'), summary.intervalMinutes ? `every ${summary.intervalMinutes} min` : ''],
    ['Sensor active', `${number(summary.sensorWearPercent)} %`, `target at least ${CGM_TARGETS.wearMin} %`],
    ['Days with readings', `${summary.daysWithReadings} of ${days}`, ''],
    ['Mean glucose', `${number(summary.meanMgdl!, 0)} mg/dL`, ''],
    ['Glucose management indicator', `${number(summary.gmiPercent!)} %`, ''],
    ['Glucose variability (CV)', `${number(summary.cvPercent ?? 0)} %`, `target at most ${CGM_TARGETS.cvMax} %`],
  ];
  let rowY = y + 22;
  for (const [label, value, target] of rows) {
    doc.font('regular').fontSize(9).fillColor(INK).text(label, x, rowY, { width: 165 });
    doc.font('bold').text(value, x + 165, rowY, { width: 75, align: 'right' });
    if (target) doc.font('regular').fontSize(7.5).fillColor(MUTED).text(target, x + 165, rowY + 12, { width: 120 });
    rowY += target ? 30 : 22;
  }
}

function timeInRanges(doc: PDFKit.PDFDocument, summary: CgmSummary, x: number, y: number): void {
  const t = summary.timeInRanges;
  doc.font('bold').fontSize(11).fillColor(INK).text('Time in ranges', x, y);
  const rows = [
    { name: 'veryHigh', label: 'Very high, above 250 mg/dL', value: t.veryHigh, target: `target under ${CGM_TARGETS.veryHighMax} %` },
    { name: 'high', label: 'High, 181–250 mg/dL', value: t.high, target: `with very high under ${CGM_TARGETS.highMax} %` },
    { name: 'inRange', label: 'In range, 70–180 mg/dL', value: t.inRange, target: `target over ${CGM_TARGETS.inRangeMin} %` },
    { name: 'low', label: 'Low, 54–69 mg/dL', value: t.low, target: `with very low under ${CGM_TARGETS.lowMax} %` },
    { name: 'veryLow', label: 'Very low, below 54 mg/dL', value: t.veryLow, target: `target under ${CGM_TARGETS.veryLowMax} %` },
  ] as const;
  // The bar: each range's share of 180 points, top to bottom as the rows; a share too thin to see gets a hairline.
  const barX = x;
  const barTop = y + 22;
  const barHeight = 180;
  let segmentTop = barTop;
  for (const row of rows) {
    const height = (row.value / 100) * barHeight;
    if (height > 0) doc.rect(barX, segmentTop, 28, Math.max(height, 0.75)).fill(RANGE_COLOURS[row.name]);
    segmentTop += height;
  }
  let rowY = barTop;
  for (const row of rows) {
    doc.rect(x + 40, rowY + 2, 8, 8).fill(RANGE_COLOURS[row.name]);
    doc.font('regular').fontSize(9).fillColor(INK).text(row.label, x + 54, rowY, { width: 150 });
    doc.font('bold').text(`${number(row.value)} %`, x + 200, rowY, { width: 42, align: 'right' });
    doc.font('regular').fontSize(7.5).fillColor(MUTED).text(row.target, x + 54, rowY + 12, { width: 188 });
    rowY += 38;
  }
}

function profile(doc: PDFKit.PDFDocument, summary: CgmSummary, days: number, x: number, y: number, width: number, height: number): void {
  doc.font('bold').fontSize(11).fillColor(INK).text('Ambulatory glucose profile', x, y);
  doc.font('regular').fontSize(8.5).fillColor(MUTED).text(`Each hour of the day over the ${days} ${days === 1 ? 'day' : 'days'}: the median (line), 25–75 % and 5–95 % of the readings (bands).`, x, y + 15, { width });
  const plot = { x: x + 34, y: y + 46, width: width - 40, height: height - 70 };
  const yOf = (mgdl: number) => plot.y + plot.height - (Math.min(mgdl, AXIS_MAX) / AXIS_MAX) * plot.height;
  const xOf = (hour: number) => plot.x + (hour / 24) * plot.width;
  // The target range shaded, as the AGP draws it.
  doc.rect(plot.x, yOf(180), plot.width, yOf(70) - yOf(180)).fill('#eaf5ea');
  doc.lineWidth(0.5).strokeColor('#999999').rect(plot.x, plot.y, plot.width, plot.height).stroke();
  for (const mgdl of [54, 70, 180, 250]) {
    doc.moveTo(plot.x, yOf(mgdl)).lineTo(plot.x + plot.width, yOf(mgdl)).lineWidth(mgdl === 70 || mgdl === 180 ? 1 : 0.5).strokeColor(mgdl === 70 || mgdl === 180 ? RANGE_COLOURS.inRange : '#bbbbbb').stroke();
  }
  doc.font('regular').fontSize(8).fillColor(MUTED);
  for (const mgdl of [0, 54, 70, 180, 250, 350]) doc.text(String(mgdl), plot.x - 30, yOf(mgdl) - 4, { width: 26, align: 'right' });
  doc.text('mg/dL', plot.x - 34, plot.y - 16, { width: 30, align: 'right' });
  for (let hour = 0; hour <= 24; hour += 3) doc.text(`${String(hour % 24).padStart(2, '0')}:00`, xOf(hour) - 15, plot.y + plot.height + 4, { width: 30, align: 'center' });

  // Runs of consecutive hours with readings, each drawn at the middle of its hour; an hour without
  // readings breaks the bands rather than being bridged.
  const runs: { hour: number; p: NonNullable<CgmSummary['hourly'][number]['percentiles']> }[][] = [];
  let run: (typeof runs)[number] = [];
  for (const hour of summary.hourly) {
    if (hour.percentiles) run.push({ hour: hour.hour + 0.5, p: hour.percentiles });
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  for (const points of runs) {
    const band = (low: 'p5' | 'p25', high: 'p75' | 'p95', colour: string) => {
      if (points.length === 1) {
        const [point] = points;
        doc.rect(xOf(point!.hour) - 3, yOf(point!.p[high]), 6, Math.max(yOf(point!.p[low]) - yOf(point!.p[high]), 0.5)).fill(colour);
        return;
      }
      doc.moveTo(xOf(points[0]!.hour), yOf(points[0]!.p[high]));
      for (const point of points.slice(1)) doc.lineTo(xOf(point.hour), yOf(point.p[high]));
      for (const point of [...points].reverse()) doc.lineTo(xOf(point.hour), yOf(point.p[low]));
      doc.closePath().fill(colour);
    };
    band('p5', 'p95', BAND_OUTER);
    band('p25', 'p75', BAND_INNER);
    doc.moveTo(xOf(points[0]!.hour), yOf(points[0]!.p.p50));
    for (const point of points.slice(1)) doc.lineTo(xOf(point.hour), yOf(point.p.p50));
    doc.lineWidth(1.5).strokeColor(MEDIAN).stroke();
  }
}

function footer(doc: PDFKit.PDFDocument, issued: string): void {
  doc
    .font('regular')
    .fontSize(7)
    .fillColor(MUTED)
    .text(
      `Made ${issued.slice(0, 16).replace('T', ' ')} UTC by the RPM platform from the readings received. Time in ranges: % of readings. GMI = 3.31 + 0.02392 × mean glucose in mg/dL (Bergenstal et al., Diabetes Care 2018). Targets for most adults with type 1 or type 2 diabetes (Battelino et al., Diabetes Care 2019); older or high-risk adults have looser targets.`,
      PAGE.margin,
      PAGE.height - 90,
      { width: PAGE.width - 2 * PAGE.margin },
    );
}
