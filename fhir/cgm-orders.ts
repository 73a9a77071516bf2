// The EHR's orders for CGM data (HL7 CGM IG 1.0.0): ServiceRequests the EHR exposes and a data
// submitter reads to learn what to send. A standing order (`cgm-data-submission-standing-order`)
// gives a patient's schedule in its `data-submission-schedule` extension: how often
// (`submissionPeriod`) and over how long (`lookbackPeriod`, by default the same); a one-time order
// (`cgm-data-submission-one-time-order`) asks for one period (`data-submission-one-time-spec`'s
// `timePeriod`), before a visit say. Each names the profiles it wants: the platform sends CGM
// summaries (with their PDF report) and the sensor readings themselves.
import type { Extension, Patient as FhirPatient, Quantity, ServiceRequest } from '@medplum/fhirtypes';
import { localDate, type CgmOrderContent, type FhirCgmOrder, type Patient, type UnservedFhirCgmOrder } from '../store/index.js';
import type { EhrClient } from './ehr-client.js';
import { SYSTEMS } from './vocabulary.js';

const CGM_IG = 'http://hl7.org/fhir/uv/cgm';
/** The IG's code system of the two order codes. */
export const CGM_ORDER_SYSTEM = `${CGM_IG}/CodeSystem/cgm`;
export const STANDING_ORDER_CODE = 'cgm-data-submission-standing-order';
export const ONE_TIME_ORDER_CODE = 'cgm-data-submission-one-time-order';
const SCHEDULE_EXTENSION = `${CGM_IG}/StructureDefinition/data-submission-schedule`;
const ONE_TIME_EXTENSION = `${CGM_IG}/StructureDefinition/data-submission-one-time-spec`;
const PROFILE_BASE = `^${CGM_IG.replaceAll('.', '\\.')}/StructureDefinition/`;
/** What the platform submits: the summary, its members, its PDF report; and the sensor readings (either unit). */
const SUMMARY_PROFILE = new RegExp(`${PROFILE_BASE}cgm-summary(-[a-z-]+)?(\\|.*)?$`);
const SENSOR_READING_PROFILE = new RegExp(`${PROFILE_BASE}cgm-sensor-reading-(mass|moles)-per-volume(\\|.*)?$`);

/** Days per UCUM unit of time; a month as 30 days and a year as 365 (periods here are whole local days). */
const DAYS_PER_UNIT: Readonly<Record<string, number>> = { s: 1 / 86_400, min: 1 / 1_440, h: 1 / 24, d: 1, wk: 7, mo: 30, a: 365 };
/** A schedule's longest cadence; a period's longest span is the summaries' own (90 days). */
const MAX_EVERY_DAYS = 365;
const MAX_LOOKBACK_DAYS = 90;
/** Patients read by id in one search where the EHR does not `_include` an order's subject. */
const SUBJECTS_PER_SEARCH = 50;

export type CgmOrder =
  | ({ kind: 'standing'; ehrOrderId: string; subject: string; everyDays: number; lookbackDays: number } & CgmOrderContent)
  | ({ kind: 'one_time'; ehrOrderId: string; subject: string; start: string; end: string } & CgmOrderContent);

/** What a schedule or one-time spec asks for of what the platform sends (its `submissionDataProfile`s). */
function contentOf(extension: Extension): CgmOrderContent {
  const profiles = part(extension, 'submissionDataProfile').map((profile) => profile.valueCanonical ?? '');
  return { summary: profiles.some((profile) => SUMMARY_PROFILE.test(profile)), sensorReadings: profiles.some((profile) => SENSOR_READING_PROFILE.test(profile)) };
}

const asksForAny = (content: CgmOrderContent) => content.summary || content.sensorReadings;
const NOTHING_SERVED = 'it asks for neither a CGM summary nor sensor readings';

const part = (extension: Extension, url: string) => extension.extension?.filter((inner) => inner.url === url) ?? [];

/** Whole days of a Quantity of time (at least 1), or why it is none. */
function days(quantity: Quantity | undefined, name: string): number | string {
  const perUnit = quantity?.code === undefined ? undefined : DAYS_PER_UNIT[quantity.code];
  if (quantity?.value === undefined || perUnit === undefined || !(quantity.value > 0)) return `${name} is not a positive time in d, wk, mo or a`;
  return Math.max(1, Math.ceil(quantity.value * perUnit - 1e-9));
}

/**
 * An order the platform can serve, or why not (the reason is logged, never sent anywhere). A
 * standing order with several schedules is served by the first that asks for summaries, else by the
 * first that asks for sensor readings.
 */
export function parseCgmOrder(request: ServiceRequest): CgmOrder | { ehrOrderId: string; problem: string } {
  const ehrOrderId = request.id ?? '';
  const code = request.code?.coding?.find((coding) => coding.system === CGM_ORDER_SYSTEM)?.code;
  const subject = request.subject?.reference;
  if (!subject?.startsWith('Patient/')) return { ehrOrderId, problem: 'its subject is not a Patient' };
  if (request.status !== 'active') return { ehrOrderId, problem: `it is ${request.status ?? 'without a status'}` };
  if (code === STANDING_ORDER_CODE) {
    const schedules = (request.extension ?? []).filter((extension) => extension.url === SCHEDULE_EXTENSION);
    const schedule = schedules.find((extension) => contentOf(extension).summary) ?? schedules.find((extension) => asksForAny(contentOf(extension)));
    if (!schedule) return { ehrOrderId, problem: schedules.length === 0 ? 'it has no data-submission-schedule' : NOTHING_SERVED };
    const every = days(part(schedule, 'submissionPeriod')[0]?.valueQuantity, 'submissionPeriod');
    if (typeof every === 'string') return { ehrOrderId, problem: every };
    const lookbackQuantity = part(schedule, 'lookbackPeriod')[0]?.valueQuantity;
    const lookback = lookbackQuantity === undefined ? every : days(lookbackQuantity, 'lookbackPeriod');
    if (typeof lookback === 'string') return { ehrOrderId, problem: lookback };
    return { kind: 'standing', ehrOrderId, subject, everyDays: Math.min(every, MAX_EVERY_DAYS), lookbackDays: Math.min(lookback, MAX_LOOKBACK_DAYS), ...contentOf(schedule) };
  }
  if (code === ONE_TIME_ORDER_CODE) {
    const spec = (request.extension ?? []).find((extension) => extension.url === ONE_TIME_EXTENSION);
    if (!spec) return { ehrOrderId, problem: 'it has no data-submission-one-time-spec' };
    if (!asksForAny(contentOf(spec))) return { ehrOrderId, problem: NOTHING_SERVED };
    const period = part(spec, 'timePeriod')[0]?.valuePeriod;
    if (!period?.start || !period.end || Number.isNaN(Date.parse(period.start)) || Number.isNaN(Date.parse(period.end))) return { ehrOrderId, problem: 'its timePeriod has no start and end' };
    return { kind: 'one_time', ehrOrderId, subject, start: period.start, end: period.end, ...contentOf(spec) };
  }
  return { ehrOrderId, problem: 'it is not a CGM data submission order' };
}

/**
 * A FHIR date or dateTime as the patient's local date: a date (or a year, or a month: its first or
 * last day, as `edge` says) as written; a dateTime where it falls in the patient's zone.
 */
export function orderDate(value: string, timezone: string, edge: 'start' | 'end'): string {
  const year = /^(\d{4})$/.exec(value);
  if (year) return edge === 'start' ? `${year[1]}-01-01` : `${year[1]}-12-31`;
  const month = /^(\d{4})-(\d{2})$/.exec(value);
  if (month) return edge === 'start' ? `${value}-01` : new Date(Date.UTC(Number(month[1]), Number(month[2]), 0)).toISOString().slice(0, 10);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  return localDate(Date.parse(value), timezone);
}

/**
 * The platform's patient an EHR's Patient is: by the platform's id the push gave it, else by a number
 * of the EHR's the patient holds (their medical record number: the EHR's own chart of them).
 */
/** How the platform's patients are found: by their id, or by a number of another system they hold. */
type PatientLookup = { get(id: string): Promise<Patient | undefined>; byIdentifier(system: string, value: string): Promise<Patient | undefined> };

async function patientOf(inEhr: FhirPatient | undefined, patients: PatientLookup): Promise<Patient | undefined> {
  const identifiers = inEhr?.identifier ?? [];
  const platformId = identifiers.find((identifier) => identifier.system === SYSTEMS.patientId)?.value;
  if (platformId !== undefined) return patients.get(platformId);
  for (const { system, value } of identifiers) {
    if (!system || !value) continue;
    const patient = await patients.byIdentifier(system, value);
    if (patient) return patient;
  }
  return undefined;
}

/**
 * A care team's CGM orders in its EHR, for the patients the platform sent it (their identifier of
 * system `urn:rpm-ingest:patient`) or knows by the EHR's number of them, who are still the team's;
 * with the orders it cannot serve and why.
 */
export async function readTeamCgmOrders(
  client: Pick<EhrClient, 'searchAll'>,
  careTeamId: string,
  patients: PatientLookup,
): Promise<{ orders: FhirCgmOrder[]; skipped: UnservedFhirCgmOrder[] }> {
  const codes = [STANDING_ORDER_CODE, ONE_TIME_ORDER_CODE].map((code) => `${CGM_ORDER_SYSTEM}|${code}`).join(',');
  const entries = await client.searchAll(`ServiceRequest?code=${encodeURIComponent(codes)}&status=active&_include=ServiceRequest:subject&_count=100`);
  const inEhr = new Map<string, FhirPatient>();
  const requests: ServiceRequest[] = [];
  for (const entry of entries) {
    if (entry.resource?.resourceType === 'Patient') inEhr.set(`Patient/${entry.resource.id}`, entry.resource);
    if (entry.resource?.resourceType === 'ServiceRequest') requests.push(entry.resource);
  }
  // A server that does not do _include: the subjects read by id, a search per SUBJECTS_PER_SEARCH
  // (a URL of thousands of ids is one a server or proxy may refuse).
  const missing = [...new Set(requests.map((request) => request.subject?.reference ?? '').filter((reference) => reference.startsWith('Patient/') && !inEhr.has(reference)))].map((reference) => reference.slice('Patient/'.length));
  for (let start = 0; start < missing.length; start += SUBJECTS_PER_SEARCH) {
    for (const entry of await client.searchAll(`Patient?_id=${encodeURIComponent(missing.slice(start, start + SUBJECTS_PER_SEARCH).join(','))}`)) {
      if (entry.resource?.resourceType === 'Patient') inEhr.set(`Patient/${entry.resource.id}`, entry.resource);
    }
  }
  const orders: FhirCgmOrder[] = [];
  const skipped: UnservedFhirCgmOrder[] = [];
  for (const request of requests) {
    const found = await patientOf(inEhr.get(request.subject?.reference ?? ''), patients);
    // Only a patient of this team is named beside an order it cannot serve.
    const patient = found?.careTeamId === careTeamId ? found : undefined;
    const unserved = (problem: string) => skipped.push({ kind: 'unserved', careTeamId, ehrOrderId: request.id ?? '', patientId: patient?.id ?? null, problem });
    const order = parseCgmOrder(request);
    if ('problem' in order) {
      unserved(order.problem);
      continue;
    }
    if (!patient) {
      unserved(found ? "its patient is not this team's" : 'its patient is not one the platform sent nor holds a number of');
      continue;
    }
    const content = { summary: order.summary, sensorReadings: order.sensorReadings };
    if (order.kind === 'standing') {
      orders.push({ kind: 'standing', careTeamId, ehrOrderId: order.ehrOrderId, patientId: patient.id, everyDays: order.everyDays, lookbackDays: order.lookbackDays, ...content });
      continue;
    }
    const periodStart = orderDate(order.start, patient.timezone, 'start');
    const periodEnd = orderDate(order.end, patient.timezone, 'end');
    if (periodStart > periodEnd) unserved('its timePeriod ends before it starts');
    else orders.push({ kind: 'one_time', careTeamId, ehrOrderId: order.ehrOrderId, patientId: patient.id, periodStart, periodEnd, ...content });
  }
  return { orders, skipped };
}
