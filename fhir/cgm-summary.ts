// A patient's CGM summary as the HL7 CGM IG 1.0.0 (STU 1, hl7.org/fhir/uv/cgm) has an EHR receive
// it: a CGM Summary Observation whose hasMember are the metrics, each an Observation of its own
// profile with its LOINC code, over a reporting period of whole local dates. The figures are the
// platform's own (store/readings/cgm-summary.ts, the International Consensus on Time in Range);
// only their shape is the IG's. Answered by `GET /fhir/R4/Patient/:id/$cgm-summary` as a
// `collection` Bundle, the summary first; members are referenced by their `urn:uuid:` fullUrls,
// which are stable for a patient and period, and each resource carries an identifier an EHR can
// create it conditionally on (as the IG's data submission does with `$submit-cgm-bundle`).
import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, CodeableConcept, DiagnosticReport, Observation, Patient as FhirPatient, Quantity, Resource } from '@medplum/fhirtypes';
import { CGM_PERIOD_DAYS, addDays, cgmSummary, readCgmPoints, startOfLocalDate, type CgmSummary, type Patient, type ReadingsStore } from '../store/index.js';
import { cgmReportPdf } from './cgm-report-pdf.js';
import { fhirIdOf } from './ids.js';
import { forTheEhr, identifierQuery } from './transaction-bundle.js';
import { SYSTEMS } from './vocabulary.js';

/** The IG's canonical base, its temporary code system (for the one concept LOINC has not published) and its profiles. */
const CGM_IG = 'http://hl7.org/fhir/uv/cgm';
const CGM_SUMMARY_CODES = `${CGM_IG}/CodeSystem/cgm-summary-codes-temporary`;
const profile = (id: string) => `${CGM_IG}/StructureDefinition/${id}`;

/** The identifier system of the summary's resources: `<patient's platform id>/<start>/<end>/<metric>`. */
export const CGM_SUMMARY_IDENTIFIER = 'urn:rpm-ingest:cgm-summary';

const loinc = (code: string, display: string): CodeableConcept => ({ coding: [{ system: SYSTEMS.loinc, code, display }] });
const percent = (value: number): Quantity => ({ value, unit: '%', system: SYSTEMS.ucum, code: '%' });

/** The metrics, one Observation each (the IG's hasMember slices), in the IG's order. */
const METRICS = [
  {
    name: 'mean-glucose-mass-per-volume',
    profile: profile('cgm-summary-mean-glucose-mass-per-volume'),
    code: loinc('97507-8', 'Average glucose [Mass/volume] in Interstitial fluid during Reporting Period'),
    value: (summary: CgmSummary): Pick<Observation, 'valueQuantity'> => ({ valueQuantity: { value: summary.meanMgdl!, unit: 'mg/dl', system: SYSTEMS.ucum, code: 'mg/dL' } }),
  },
  {
    name: 'times-in-ranges',
    profile: profile('cgm-summary-times-in-ranges'),
    code: loinc('106793-3', 'Continuous glucose monitoring time in ranges panel'),
    value: (summary: CgmSummary): Pick<Observation, 'component'> => ({
      component: [
        { code: loinc('104642-4', 'Time in very low range, < 54 mg/dL'), valueQuantity: percent(summary.timeInRanges.veryLow) },
        { code: loinc('104641-6', 'Time in low range, 54–69 mg/dL'), valueQuantity: percent(summary.timeInRanges.low) },
        { code: loinc('97510-2', 'Time in target range, 70–180 mg/dL'), valueQuantity: percent(summary.timeInRanges.inRange) },
        { code: loinc('104640-8', 'Time in high range, 181–250 mg/dL'), valueQuantity: percent(summary.timeInRanges.high) },
        { code: loinc('104639-0', 'Time in very high range, > 250 mg/dL'), valueQuantity: percent(summary.timeInRanges.veryHigh) },
      ],
    }),
  },
  {
    name: 'gmi',
    profile: profile('cgm-summary-gmi'),
    code: loinc('97506-0', 'Glucose management indicator'),
    value: (summary: CgmSummary): Pick<Observation, 'valueQuantity'> => ({ valueQuantity: percent(summary.gmiPercent!) }),
  },
  {
    name: 'cv',
    profile: profile('cgm-summary-coefficient-of-variation'),
    code: loinc('104638-2', 'Coefficient of variation of glucose'),
    value: (summary: CgmSummary): Pick<Observation, 'valueQuantity'> => ({ valueQuantity: percent(summary.cvPercent!) }),
  },
  {
    name: 'days-of-wear',
    profile: profile('cgm-summary-days-of-wear'),
    code: loinc('104636-6', 'Continuous glucose monitoring duration of use'),
    value: (summary: CgmSummary): Pick<Observation, 'valueQuantity'> => ({ valueQuantity: { value: summary.daysWithReadings, unit: 'days', system: SYSTEMS.ucum, code: 'd' } }),
  },
  {
    name: 'sensor-active-percentage',
    profile: profile('cgm-summary-sensor-active-percentage'),
    code: loinc('104637-4', 'Continuous glucose monitoring sensor wear time active'),
    value: (summary: CgmSummary): Pick<Observation, 'valueQuantity'> => ({ valueQuantity: percent(summary.sensorWearPercent) }),
  },
] as const;

/** The LOINC codes of the members, for tests and the docs' table. */
export const CGM_SUMMARY_MEMBER_CODES = METRICS.map((metric) => metric.code.coding![0]!.code!);

/** A name-based UUID (RFC 9562 version 5 layout, SHA-1) of the key: the same patient, period and metric give the same fullUrl. */
function stableUuid(key: string): string {
  const bytes = createHash('sha1').update(`${CGM_SUMMARY_IDENTIFIER}:${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface CgmSummaryPeriod {
  /** The first and last local dates of the period (YYYY-MM-DD), both whole days. */
  start: string;
  end: string;
}

/**
 * The summary and its metrics as a `collection` Bundle, or one with no entry when the period has
 * fewer than two readings (no mean, no variation: nothing the IG's profiles could carry).
 */
export function cgmSummaryBundle(input: { patientId: string; period: CgmSummaryPeriod; summary: CgmSummary; issued: string }): Bundle {
  const { patientId, period, summary, issued } = input;
  if (summary.readings < 2 || summary.meanMgdl === null || summary.gmiPercent === null || summary.cvPercent === null) return { resourceType: 'Bundle', type: 'collection', timestamp: issued, entry: [] };
  const key = (metric: string) => `${patientId}/${period.start}/${period.end}/${metric}`;
  const common = (metric: string): Pick<Observation, 'identifier' | 'status' | 'category' | 'subject' | 'effectivePeriod' | 'issued'> => ({
    identifier: [{ system: CGM_SUMMARY_IDENTIFIER, value: key(metric) }],
    status: 'final',
    category: [{ coding: [{ system: SYSTEMS.observationCategory, code: 'laboratory' }] }],
    subject: { reference: `Patient/${fhirIdOf(patientId)}` },
    effectivePeriod: { start: period.start, end: period.end },
    issued,
  });
  const members = METRICS.map((metric) => ({
    fullUrl: stableUuid(key(metric.name)),
    resource: { resourceType: 'Observation', meta: { profile: [metric.profile] }, ...common(metric.name), code: metric.code, ...metric.value(summary) } satisfies Observation,
  }));
  const summaryObservation: Observation = {
    resourceType: 'Observation',
    meta: { profile: [profile('cgm-summary')] },
    ...common('cgm-summary'),
    code: { coding: [{ system: CGM_SUMMARY_CODES, code: 'cgm-summary', display: 'CGM Summary Report' }] },
    hasMember: members.map((member) => ({ reference: member.fullUrl })),
  };
  return { resourceType: 'Bundle', type: 'collection', timestamp: issued, entry: [{ fullUrl: stableUuid(key('cgm-summary')), resource: summaryObservation }, ...members] };
}

/**
 * What is wrong with a period of local dates, naming the bound at fault, or undefined: it may end on
 * `latest.end` at the latest (today for a report, yesterday for a submission, which the EHR keeps
 * as first sent), and span at most CGM_PERIOD_DAYS.max days.
 */
export function cgmPeriodProblem(period: CgmSummaryPeriod, latest: { end: string; why: string }): { name: 'start' | 'end'; message: string } | undefined {
  if (period.end > latest.end) return { name: 'end', message: `${period.end} ${latest.why}` };
  if (period.start > period.end) return { name: 'start', message: `${period.start} is after end (${period.end})` };
  if (period.start < addDays(period.end, -(CGM_PERIOD_DAYS.max - 1))) return { name: 'start', message: `the period may span at most ${CGM_PERIOD_DAYS.max} days` };
  return undefined;
}

/** cgmPeriodProblem for a period read rather than submitted: it may end today (as far as today has gone). */
export function readablePeriodProblem(period: CgmSummaryPeriod, today: string): { name: 'start' | 'end'; message: string } | undefined {
  return cgmPeriodProblem(period, { end: today, why: `is after today (${today} in the patient's time zone)` });
}

/** The days of a period of whole local dates, both ends included. */
export function periodDays(period: CgmSummaryPeriod): number {
  return Math.round((Date.parse(`${period.end}T00:00:00Z`) - Date.parse(`${period.start}T00:00:00Z`)) / 86_400_000) + 1;
}

/**
 * The instants of a period of whole local dates and the zone to sum it in. A period ending today
 * counts today as far as it has gone (sensor wear is of the time that passed).
 */
export function periodWindow(period: CgmSummaryPeriod, timezone: string, nowMs: number): { fromMs: number; toMs: number; timezone: string } {
  return { fromMs: startOfLocalDate(period.start, timezone), toMs: Math.min(startOfLocalDate(addDays(period.end, 1), timezone), nowMs), timezone };
}

/**
 * A patient's readings of a period of whole local dates, summed up at `decimals`: 2 for the IG's
 * Observations, 1 for what the console and the PDF report show (their flags are taken from the
 * figures shown).
 */
export async function readPeriodSummary(readingsStore: Pick<ReadingsStore, 'series'>, patient: Pick<Patient, 'id' | 'timezone'>, period: CgmSummaryPeriod, nowMs: number, decimals: 1 | 2): Promise<CgmSummary> {
  const window = periodWindow(period, patient.timezone, nowMs);
  return cgmSummary(await readCgmPoints(readingsStore, patient.id, window.fromMs, window.toMs), window, decimals);
}

/** The one-page report of a period (fhir/cgm-report-pdf.ts). */
export function periodReportPdf(patient: Pick<Patient, 'id' | 'name' | 'birthDate' | 'timezone'>, period: CgmSummaryPeriod, shown: CgmSummary, issued: string): Promise<Buffer> {
  return cgmReportPdf({ patient, period: { ...period, days: periodDays(period) }, summary: shown, issued });
}

/**
 * The IG's CGM Summary PDF Report: a DiagnosticReport (LOINC 107931-8) of the period whose
 * presentedForm is the report, its result the summary Observation.
 */
export function cgmSummaryPdfEntry(input: { patientId: string; period: CgmSummaryPeriod; issued: string; summaryFullUrl: string; pdf: Buffer }): BundleEntry<DiagnosticReport> {
  const { patientId, period, issued, pdf } = input;
  const key = `${patientId}/${period.start}/${period.end}/pdf`;
  return {
    fullUrl: stableUuid(key),
    resource: {
      resourceType: 'DiagnosticReport',
      meta: { profile: [profile('cgm-summary-pdf')] },
      identifier: [{ system: CGM_SUMMARY_IDENTIFIER, value: key }],
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB' }] }],
      code: { coding: [{ system: SYSTEMS.loinc, code: '107931-8' }], text: 'CGM summary report' },
      subject: { reference: `Patient/${fhirIdOf(patientId)}` },
      effectivePeriod: { start: period.start, end: period.end },
      issued,
      result: [{ reference: input.summaryFullUrl }],
      presentedForm: [{ contentType: 'application/pdf', data: pdf.toString('base64'), title: `CGM summary report ${period.start} to ${period.end}`, creation: issued }],
    },
  };
}

/**
 * The patient's summary of a period as the Bundle above, read from the readings store; with
 * `withPdf` (what is submitted to an EHR) also the IG's PDF report of it.
 */
export async function readCgmSummaryBundle(readingsStore: Pick<ReadingsStore, 'series'>, patient: Pick<Patient, 'id' | 'name' | 'birthDate' | 'timezone'>, period: CgmSummaryPeriod, nowMs: number, options: { withPdf?: boolean } = {}): Promise<Bundle> {
  const issued = new Date(nowMs).toISOString();
  const window = periodWindow(period, patient.timezone, nowMs);
  const points = await readCgmPoints(readingsStore, patient.id, window.fromMs, window.toMs);
  const bundle = cgmSummaryBundle({ patientId: patient.id, period, summary: cgmSummary(points, window, 2), issued });
  if (!options.withPdf || (bundle.entry ?? []).length === 0) return bundle;
  // The report's figures at the console's one decimal, from the same points (read once).
  const pdf = await periodReportPdf(patient, period, cgmSummary(points, window, 1), issued);
  return { ...bundle, entry: [...bundle.entry!, cgmSummaryPdfEntry({ patientId: patient.id, period, issued, summaryFullUrl: bundle.entry![0]!.fullUrl!, pdf })] };
}

/**
 * A summary Bundle as the IG's CGM Data Submission Bundle: a `transaction` of the patient, the
 * summary's Observations and its PDF report when it has one, each a conditional create on its
 * identifier (so a period submitted twice exists once in the EHR), referring to each other by the
 * Bundle's fullUrls.
 */
export function cgmSubmissionBundle(patient: FhirPatient, summary: Bundle): Bundle {
  const patientUrl = stableUuid(`patient/${patient.identifier?.[0]?.value ?? patient.id ?? ''}`);
  const fullUrls = new Map<string, string>([[`Patient/${patient.id}`, patientUrl]]);
  for (const entry of summary.entry ?? []) fullUrls.set(entry.fullUrl!, entry.fullUrl!);
  const entries: BundleEntry[] = [
    { fullUrl: patientUrl, resource: forTheEhr(patient, fullUrls), request: { method: 'POST', url: 'Patient', ifNoneExist: identifierQuery(patient) } },
    ...(summary.entry ?? []).map((entry) => {
      const resource = entry.resource as Observation | DiagnosticReport;
      return { fullUrl: entry.fullUrl!, resource: forTheEhr(resource, fullUrls) as Resource, request: { method: 'POST' as const, url: resource.resourceType, ifNoneExist: identifierQuery(resource) } };
    }),
  ];
  return { resourceType: 'Bundle', meta: { profile: [profile('cgm-data-submission-bundle')] }, type: 'transaction', timestamp: summary.timestamp, entry: entries };
}

/**
 * What a summary Bundle is submitted as: the patient and the summary's Observations, then, when it
 * holds the PDF report, a second Bundle of the report with the patient and the summary it refers to.
 * Servers that run conditional creates in a serializable transaction take few of them at once
 * (Medplum: 8, the first Bundle's size), and a reference between two Bundles can only be one to a
 * resource the second creates conditionally: the EHR finds the patient and the summary the first
 * made and keeps the report with references to them. The summary goes without its members there
 * (they are not in that Bundle); it is found, not created, as the first Bundle was kept.
 */
export function cgmSubmissionBundles(patient: FhirPatient, summary: Bundle): Bundle[] {
  const entries = summary.entry ?? [];
  const reports = entries.filter((entry) => entry.resource?.resourceType === 'DiagnosticReport');
  const observations = entries.filter((entry) => entry.resource?.resourceType !== 'DiagnosticReport');
  const first = cgmSubmissionBundle(patient, { ...summary, entry: observations });
  if (reports.length === 0 || observations.length === 0) return [first];
  const { hasMember: _members, ...summaryAlone } = observations[0]!.resource as Observation;
  return [first, cgmSubmissionBundle(patient, { ...summary, entry: [{ ...observations[0]!, resource: summaryAlone }, ...reports] })];
}
