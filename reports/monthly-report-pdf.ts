// The monthly monitoring report (reports/monthly-report.ts) as a PDF to print, sign and file: the
// patient, the month's readings by kind, the billing codes reached and why not, the alerts and what
// became of them, the care team's time, and a block for the reviewing physician's signature. Tables
// run on to further pages as long as a month makes them; times are the patient's local ones.
import { KINDS, capitalized, kindText, unitText, words, type MeasurementKind } from '../device-profiles/index.js';
import { lastDateOfMonth } from '../billing/calculate.js';
import type { MonthlyReport } from './monthly-report.js';
import { setAsideReasonText } from '../store/clinical/set-aside-reasons.js';
import { INK, MUTED, PAGE, number, printable, startReport } from './pdf-document.js';

const LEFT = PAGE.margin;
const WIDTH = PAGE.width - 2 * PAGE.margin;
/** Where a page's content ends: the footer sits below. */
const BOTTOM = PAGE.height - 60;

interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
}

/** "December 2026". */
function monthName(month: string): string {
  return new Date(`${month}-15T12:00:00Z`).toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

function unitOf(kind: MeasurementKind, field: string, unit: string): string {
  return unitText(KINDS[kind].optionalFixed[field] ?? unit);
}

/** A value as measured: whole numbers without a decimal, others to one place. */
const asMeasured = (value: number) => number(value, value % 1 === 0 ? 0 : 1);

/** "systolic 138 (121–162) mmHg", or for a one-value kind "7.1 (6.0–8.2) mg/dL". */
function valuesText(summary: MonthlyReport['readings'][number]): string {
  return summary.fields
    .map(({ field, mean, min, max }) => {
      const unit = unitOf(summary.kind, field, summary.unit);
      const figures = summary.readings === 1 ? `${asMeasured(mean)} ${unit}` : `${number(mean, 1)} (${asMeasured(min)}–${asMeasured(max)}) ${unit}`;
      return field === 'value' ? figures : `${words(field)} ${figures}`;
    })
    .join('; ');
}

export async function monthlyReportPdf(report: MonthlyReport): Promise<Buffer> {
  const { patient } = report;
  const { doc, finish } = startReport({ title: `Remote monitoring report ${report.month}`, subject: `Remote patient monitoring, ${monthName(report.month)}`, issued: report.issued, bufferPages: true });
  const local = (instant: string) => new Date(instant).toLocaleString('en-US', { timeZone: patient.timezone, dateStyle: 'medium', timeStyle: 'short' });
  const localDay = (instant: string) => new Date(instant).toLocaleDateString('en-US', { timeZone: patient.timezone, dateStyle: 'medium' });

  const room = (height: number) => {
    if (doc.y + height > BOTTOM) doc.addPage();
  };
  const heading = (text: string) => {
    room(50);
    doc.moveDown(0.8).font('bold').fontSize(11.5).fillColor(INK).text(text, LEFT, doc.y, { width: WIDTH });
    doc.moveDown(0.3);
  };
  const note = (text: string) => doc.font('regular').fontSize(9).fillColor(MUTED).text(printable(text), LEFT, doc.y, { width: WIDTH });
  const table = (columns: Column[], rows: string[][]) => {
    const row = (cells: string[], font: 'regular' | 'bold') => {
      doc.font(font).fontSize(8.5);
      const height = Math.max(...cells.map((cell, i) => doc.heightOfString(printable(cell), { width: columns[i]!.width - 6 }))) + 4;
      room(height);
      const top = doc.y;
      let x = LEFT;
      cells.forEach((cell, i) => {
        doc.fillColor(font === 'bold' ? MUTED : INK).text(printable(cell), x, top, { width: columns[i]!.width - 6, align: columns[i]!.align ?? 'left' });
        x += columns[i]!.width;
      });
      doc.y = top + height;
      doc.moveTo(LEFT, doc.y - 1).lineTo(LEFT + WIDTH, doc.y - 1).lineWidth(0.3).strokeColor('#cccccc').stroke();
    };
    row(columns.map((c) => c.title), 'bold');
    for (const cells of rows) row(cells, 'regular');
  };

  doc.fillColor(INK).font('bold').fontSize(16).text('Remote patient monitoring: monthly report', LEFT, 40);
  const running = report.period.end !== lastDateOfMonth(report.month);
  doc.font('regular').fontSize(10).fillColor(MUTED).text(`${monthName(report.month)}: ${report.period.start} to ${report.period.end}${running ? ' (the month so far)' : ''}, times in ${printable(patient.timezone)}`, LEFT, 62);
  doc.fillColor(INK).fontSize(10);
  doc.font('bold').text(printable(patient.name), LEFT, 84, { continued: true }).font('regular').text(`    born ${patient.birthDate}    patient id ${printable(patient.id)}`);
  doc.text(`Care team ${printable(report.careTeam.name)}; monitored since ${localDay(patient.enrolledAt)}`, LEFT, 99);
  if (patient.discharge) doc.font('bold').text(`Monitoring ended ${localDay(patient.discharge.at)}: ${words(patient.discharge.reason)}${patient.discharge.note ? ` (${printable(patient.discharge.note)})` : ''}`, LEFT, 114);
  doc.moveTo(LEFT, doc.y + 6).lineTo(LEFT + WIDTH, doc.y + 6).lineWidth(0.5).strokeColor('#999999').stroke();
  doc.y += 8;

  heading('Readings');
  if (report.readings.length === 0) note('No readings were received this month.');
  else
    table(
      [{ title: 'Kind', width: 95 }, { title: 'Readings', width: 85, align: 'right' }, { title: 'Days', width: 40, align: 'right' }, { title: 'Mean (lowest–highest)', width: WIDTH - 220 }],
      report.readings.map((summary) => [capitalized(kindText(summary.kind)), `${summary.readings.toLocaleString('en-US')}${summary.enteredByHand > 0 ? ` (${summary.enteredByHand} by hand)` : ''}`, String(summary.days), valuesText(summary)]),
    );

  if (report.setAside.length > 0) {
    doc.moveDown(0.4);
    note(`Set aside from the record (not counted above, nor in billing): ${report.setAside.length} ${report.setAside.length === 1 ? 'reading' : 'readings'}.`);
    doc.moveDown(0.2);
    table(
      [{ title: 'Measured', width: 105 }, { title: 'Kind', width: 80 }, { title: 'As sent', width: 110 }, { title: 'Why', width: WIDTH - 385 }, { title: 'By', width: 90 }],
      report.setAside.map((reading) => [local(reading.measuredAt), kindText(reading.kind), reading.asSent, `${setAsideReasonText(reading.reason)}${reading.note ? ` (${reading.note})` : ''}${reading.moved ? '; moved to another patient’s record' : ''}`, reading.setAsideBy]),
    );
  }

  heading('Billing');
  if (report.billing.length === 0) note('Nothing to bill this month (monitoring had not begun).');
  else
    table(
      [{ title: 'Code', width: 60 }, { title: 'Period', width: 130 }, { title: 'Evidence', width: 110 }, { title: 'Why not reached', width: WIDTH - 300 }],
      report.billing.map((row) => [
        row.code === null ? '—' : `${row.code}${row.units > 1 ? ` × ${row.units}` : ''}`,
        `${row.periodStart} to ${row.periodEnd}`,
        row.group === 'management' ? `${row.minutes ?? 0} min${row.interactive ? ', interactive' : ', not interactive'}` : row.deviceDays !== undefined ? `${row.deviceDays} days with readings` : words(row.group),
        row.reasons.join(' '),
      ]),
    );

  heading('Alerts');
  if (report.alerts.length === 0) note('No alert was opened this month.');
  else
    table(
      [{ title: 'Opened', width: 105 }, { title: 'Severity', width: 60 }, { title: 'Summary', width: 200 }, { title: 'What became of it', width: WIDTH - 365 }],
      report.alerts.map((alert) => [
        local(alert.openedAt),
        alert.severity,
        alert.summary,
        alert.status === 'resolved' ? `resolved${alert.resolvedBy ? ` by ${alert.resolvedBy}` : ''}${alert.resolvedAt ? ` ${local(alert.resolvedAt)}` : ''}` : `${words(alert.status)}${alert.acknowledgedBy ? ` by ${alert.acknowledgedBy}` : ''}`,
      ]),
    );

  heading('Care team time');
  const minutes = report.timeEntries.reduce((sum, entry) => sum + entry.minutes, 0);
  if (report.timeEntries.length === 0) note('No management time was recorded this month.');
  else {
    table(
      [{ title: 'When', width: 120 }, { title: 'Minutes', width: 55, align: 'right' }, { title: 'Interactive', width: 70 }, { title: 'By', width: 140 }, { title: 'Activity', width: WIDTH - 385 }],
      report.timeEntries.map((entry) => [local(entry.performedAt), String(entry.minutes), entry.interactive ? 'yes' : 'no', entry.performedBy, entry.activity ? words(entry.activity) : '']),
    );
    doc.moveDown(0.3);
    note(`${minutes} ${minutes === 1 ? 'minute' : 'minutes'} in all, ${report.timeEntries.filter((entry) => entry.interactive).length} with an interactive communication.`);
  }
  doc.moveDown(0.3);
  note(`Check-ins answered by the patient: ${report.checkIns}.`);

  room(110);
  heading('Review');
  note('I have reviewed the data above and the alerts the care team acted on, and discussed the plan of care with the patient where needed.');
  doc.moveDown(1.6);
  const y = doc.y;
  doc.font('regular').fontSize(9).fillColor(INK);
  doc.text('Reviewed by', LEFT, y).moveTo(LEFT + 60, y + 10).lineTo(LEFT + 250, y + 10).lineWidth(0.5).strokeColor(INK).stroke();
  doc.text('Date', LEFT + 270, y).moveTo(LEFT + 295, y + 10).lineTo(LEFT + 380, y + 10).stroke();
  doc.text('Signature', LEFT + 395, y).moveTo(LEFT + 440, y + 10).lineTo(LEFT + WIDTH, y + 10).stroke();

  const range = doc.bufferedPageRange();
  for (let page = range.start; page < range.start + range.count; page += 1) {
    doc.switchToPage(page);
    // Below the bottom margin, where pdfkit would otherwise start a page for the line.
    doc.page.margins.bottom = 0;
    doc
      .font('regular')
      .fontSize(7)
      .fillColor(MUTED)
      .text(
        `Made ${report.issued.slice(0, 16).replace('T', ' ')} UTC by the RPM platform from the readings and records received. Values in the platform's units; days and times in the patient's time zone. Page ${page - range.start + 1} of ${range.count}.`,
        LEFT,
        PAGE.height - 45,
        { width: WIDTH, lineBreak: false },
      );
  }
  return finish();
}
