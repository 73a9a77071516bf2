// The CGM summary's one-page PDF report (fhir/cgm-report-pdf.ts), read back by Mozilla's PDF reader:
// the figures of a synthetic fortnight counted here, the targets missed in words, the no-data page,
// a name outside Latin-1; and the report as the HL7 CGM IG's DiagnosticReport in a submission.
import { describe, expect, it } from '@jest/globals';
import type { DiagnosticReport, Observation } from '@medplum/fhirtypes';
import { cgmReportPdf, cgmSubmissionBundle, cgmSummaryBundle, cgmSummaryPdfEntry, patientResource } from '../../../fhir/index.js';
import { cgmSummary } from '../../../store/index.js';
import { fhirErrors } from '../../support/fhir-validator.js';
import { pdfText } from '../../support/pdf-text.js';

const DAY = 86_400_000;
const fromMs = Date.parse('2026-11-01T00:00:00Z');
const window = { fromMs, toMs: fromMs + 14 * DAY, timezone: 'UTC' };
const period = { start: '2026-11-01', end: '2026-11-14', days: 14 };
const issued = '2026-11-15T08:00:00.000Z';
const patient = { id: 'p-1', name: 'Ada Example', birthDate: '1950-02-03', timezone: 'UTC' };

/** Every 5 minutes for 14 days, cycling through 20 values: 1 below 54, 1 at 60, 13 in range, 3 at 200, 2 at 300 (about 5, 5, 65, 15 and 10 %). */
const CYCLE = [40, 60, ...Array.from({ length: 13 }, () => 120), 200, 200, 200, 300, 300];
const fortnight = Array.from({ length: 14 * 288 }, (_, i) => ({ epochMs: fromMs + i * 300_000, value: CYCLE[i % CYCLE.length]! }));

describe('cgmReportPdf', () => {
  it('prints the period’s figures as counted from the readings, the targets each is held to, and the ones missed', async () => {
    const summary = cgmSummary(fortnight, window, 1);
    const pdf = await cgmReportPdf({ patient, period, summary, issued });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const { pages, text, title } = await pdfText(pdf);
    expect(pages).toBe(1);
    expect(title).toBe('CGM summary report 2026-11-01 to 2026-11-14');
    expect(text).toContain('Ada Example born 1950-02-03 patient id p-1');
    expect(text).toContain('2026-11-01 to 2026-11-14 (14 days), times of day in UTC');
    const n = 14 * 288;
    const mean = fortnight.reduce((sum, point) => sum + point.value, 0) / n;
    const sd = Math.sqrt(fortnight.reduce((sum, point) => sum + (point.value - mean) ** 2, 0) / (n - 1));
    const pct = (inRange: (value: number) => boolean) => (Math.round((fortnight.filter((point) => inRange(point.value)).length / n) * 1000) / 10).toFixed(1);
    expect(text).toContain(`Readings ${n.toLocaleString('en-US')}`);
    expect(text).toContain('every 5 min');
    expect(text).toContain('Sensor active 100.0 %');
    expect(text).toContain('Days with readings 14 of 14');
    expect(text).toContain(`Mean glucose ${Math.round(mean)} mg/dL`);
    expect(text).toContain(`Glucose management indicator ${(3.31 + 0.02392 * mean).toFixed(1)} %`);
    expect(text).toContain(`Glucose variability (CV) ${((sd / mean) * 100).toFixed(1)} %`);
    expect(text).toContain(`Very high, above 250 mg/dL ${pct((v) => v > 250)} %`);
    expect(text).toContain(`High, 181–250 mg/dL ${pct((v) => v > 180 && v <= 250)} %`);
    expect(text).toContain(`In range, 70–180 mg/dL ${pct((v) => v >= 70 && v <= 180)} %`);
    expect(text).toContain(`Low, 54–69 mg/dL ${pct((v) => v >= 54 && v < 70)} %`);
    expect(text).toContain(`Very low, below 54 mg/dL ${pct((v) => v < 54)} %`);
    // 5 % below 54 (target under 1), 10 % below 70 (under 4), 65 % in range (over 70), 10 % above 250 (under 5), 25 % above 180 (not over 25), CV over 36.
    expect(text.replaceAll('\n', '')).toContain('Targets missed: time below 54 mg/dL, time below 70 mg/dL, time in range, time above 250 mg/dL, glucose variability.');
    expect(text).toContain('00:00 03:00 06:00 09:00 12:00 15:00 18:00 21:00 00:00');
  });

  it('says when every target is met, and when a period has no readings or one', async () => {
    const steady = fortnight.map((point) => ({ ...point, value: 110 + (point.epochMs % 7) }));
    expect((await pdfText(await cgmReportPdf({ patient, period, summary: cgmSummary(steady, window, 1), issued }))).text).toContain('Every consensus target met.');
    const empty = await pdfText(await cgmReportPdf({ patient, period, summary: cgmSummary([], window, 1), issued }));
    expect({ pages: empty.pages, said: empty.text.includes('No CGM readings in this period.'), profile: empty.text.includes('Ambulatory glucose profile\n') }).toEqual({ pages: 1, said: true, profile: false });
    expect((await pdfText(await cgmReportPdf({ patient, period, summary: cgmSummary(fortnight.slice(0, 1), window, 1), issued }))).text).toContain('Too few CGM readings');
  });

  it('prints names in the scripts its font has, and what it lacks as "?" beside the patient’s id', async () => {
    for (const [name, printed] of [
      ['Łukasz Żółć-Şükrü', 'Łukasz Żółć-Şükrü'],
      ['Nguyễn Thị Ánh', 'Nguyễn Thị Ánh'],
      ['Анна Ψαρά', 'Анна Ψαρά'],
      ['José 王小明', 'José ???'],
      ['Tab\there', 'Tab?here'],
    ]) {
      const { text } = await pdfText(await cgmReportPdf({ patient: { ...patient, name: name! }, period, summary: cgmSummary(fortnight, window, 1), issued }));
      expect(text).toContain(`${printed} born 1950-02-03 patient id p-1`);
    }
  });
});

describe('the report as the CGM IG’s DiagnosticReport', () => {
  it('is a CGM Summary PDF Report of the period whose result is the summary, created in the EHR only once per period', async () => {
    const summary = cgmSummaryBundle({ patientId: 'p-1', period, summary: cgmSummary(fortnight, window, 2), issued });
    const pdf = await cgmReportPdf({ patient, period, summary: cgmSummary(fortnight, window, 1), issued });
    const entry = cgmSummaryPdfEntry({ patientId: 'p-1', period, issued, summaryFullUrl: summary.entry![0]!.fullUrl!, pdf });
    expect(entry.resource).toMatchObject({
      resourceType: 'DiagnosticReport',
      meta: { profile: ['http://hl7.org/fhir/uv/cgm/StructureDefinition/cgm-summary-pdf'] },
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '107931-8' }] },
      subject: { reference: 'Patient/p-1' },
      effectivePeriod: { start: '2026-11-01', end: '2026-11-14' },
      issued,
      result: [{ reference: summary.entry![0]!.fullUrl }],
      presentedForm: [{ contentType: 'application/pdf' }],
    });
    expect(Buffer.from(entry.resource!.presentedForm![0]!.data!, 'base64').equals(pdf)).toBe(true);
    const fhirPatient = patientResource({ ...patient, language: null, careTeamId: 't-1', enrolledAt: '2026-01-01T00:00:00.000Z', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', discharge: null, identifiers: [] });
    const bundle = cgmSubmissionBundle(fhirPatient, { ...summary, entry: [...summary.entry!, entry] });
    expect(fhirErrors(bundle)).toEqual([]);
    const report = bundle.entry!.at(-1)!;
    expect(report.request).toEqual({ method: 'POST', url: 'DiagnosticReport', ifNoneExist: `identifier=${encodeURIComponent('urn:rpm-ingest:cgm-summary|p-1/2026-11-01/2026-11-14/pdf')}` });
    expect((report.resource as DiagnosticReport).subject).toEqual({ reference: bundle.entry![0]!.fullUrl });
    expect((report.resource as DiagnosticReport).result).toEqual([{ reference: bundle.entry![1]!.fullUrl }]);
    expect((bundle.entry![1]!.resource as Observation).code!.coding![0]!.code).toBe('cgm-summary');
  });
});
