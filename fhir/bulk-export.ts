// FHIR Bulk Data export (Bulk Data Access IG 2.0, `$export`): which patients an export holds, planned
// in the background and recorded in the clinical store, and each NDJSON file's lines, read from the
// stores a patient at a time while the file is downloaded. Nothing is gathered in memory and nothing
// is written to disk: a file is its resource type and its patients, and any API process can serve
// it. Observations are those received up to the export's transaction time (and after `_since`), so
// a file downloaded twice has the same lines, give or take a patient or device changed meanwhile.
import { randomUUID } from 'node:crypto';
import type { Device as FhirDevice } from '@medplum/fhirtypes';
import { RpmError, type DeviceProfiles } from '../device-profiles/index.js';
import type { BulkExport, BulkExportFile, ClinicalStore, ReadingsStore } from '../store/index.js';
import { FHIR_ERRORS } from './errors.js';
import { patientReadings } from './observation-pages.js';
import { numberedObservationJsonOf } from './observations.js';
import { deviceResource, patientResource } from './resources.js';
import { searchValues, type RawQuery } from './search.js';

export const EXPORT_TYPES = ['Patient', 'Device', 'Observation'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

/** Patients per NDJSON file: 1,000 patients × 90 days × 6 readings ≈ 540,000 lines, a few hundred MB at most. */
export const PATIENTS_PER_FILE = 1000;
/** A finished export's files can be fetched for a day; the status then answers 404. */
export const EXPORT_FILES_HOURS = 24;
/** An export whose planning has not moved for this long lost its process: the next status poll plans it again. */
export const STALLED_PLANNING_MS = 30_000;
/** Patients read per page while planning. */
const PLANNING_PAGE = 500;

const OUTPUT_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

export interface ExportRequest {
  types: ExportType[];
  since: string | null;
}

function invalid(message: string): RpmError {
  return new RpmError(FHIR_ERRORS.INVALID_SEARCH_PARAMETER, message);
}

/** The kick-off's parameters (`_type`, `_since`, `_outputFormat`); others are refused unless lenient. */
export function parseExportRequest(query: RawQuery, lenient: boolean): ExportRequest {
  const values = searchValues(query, ['_type', '_since', '_outputFormat'], lenient);
  const types = (values.get('_type') ?? []).flatMap((value) => value.split(',')).map((type) => type.trim());
  for (const type of types) if (!(EXPORT_TYPES as readonly string[]).includes(type)) throw invalid(`_type: ${type} is not exported here (${EXPORT_TYPES.join(', ')} are)`);
  const since = values.get('_since')?.at(-1);
  if (since !== undefined && (!/T.*(Z|[+-]\d{2}:\d{2})$/.test(since) || Number.isNaN(Date.parse(since)))) throw invalid(`_since: "${since}" is not a FHIR instant (2026-11-01T00:00:00Z)`);
  const format = values.get('_outputFormat')?.at(-1);
  if (format !== undefined && !OUTPUT_FORMATS.has(format)) throw invalid(`_outputFormat: ${format} is not supported (application/fhir+ndjson is)`);
  return { types: types.length > 0 ? EXPORT_TYPES.filter((type) => types.includes(type)) : [...EXPORT_TYPES], since: since === undefined ? null : new Date(since).toISOString() };
}

export interface ExportStores {
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  deviceProfiles: DeviceProfiles;
}

/** Records a new export; its planning is `planExport`'s. */
export async function startExport(clinicalStore: ClinicalStore, input: { requestedBy: string; careTeamId: string | null; request: ExportRequest; requestUrl: string }): Promise<BulkExport> {
  await clinicalStore.bulkExports.deleteExpired();
  return clinicalStore.bulkExports.create({
    id: randomUUID(),
    requestedBy: input.requestedBy,
    careTeamId: input.careTeamId,
    types: input.request.types,
    since: input.request.since,
    requestUrl: input.requestUrl,
    transactionTime: new Date().toISOString(),
    // Until it is planned: a day from now, so that a planner that died leaves nothing forever.
    expiresAt: new Date(Date.now() + EXPORT_FILES_HOURS * 3_600_000).toISOString(),
  });
}

/**
 * Lists the export's patients (a care team's, or everyone's), recording progress a page at a time,
 * then its files: for each type, the patients in groups of PATIENTS_PER_FILE. Stops, without error,
 * when the export was cancelled meanwhile.
 */
export async function planExport(clinicalStore: ClinicalStore, job: BulkExport): Promise<void> {
  const patientIds: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await clinicalStore.patients.list({ ...(job.careTeamId ? { careTeamIds: [job.careTeamId] } : {}), after, limit: PLANNING_PAGE });
    patientIds.push(...page.items.map((patient) => patient.id));
    if (!(await clinicalStore.bulkExports.progress(job.id, patientIds.length))) return;
    if (page.nextCursor === null) break;
    after = page.nextCursor;
  }
  const files: BulkExportFile[] = [];
  for (const type of job.types) {
    for (let start = 0; start < patientIds.length; start += PATIENTS_PER_FILE) files.push({ type, patientIds: patientIds.slice(start, start + PATIENTS_PER_FILE) });
  }
  await clinicalStore.bulkExports.complete(job.id, files, new Date(Date.now() + EXPORT_FILES_HOURS * 3_600_000).toISOString());
}

function after(instant: string | undefined | null, since: string | null): boolean {
  return since === null || (instant !== undefined && instant !== null && instant > since);
}

/** Lines gathered into chunks of about this many characters: a write per line cost the export half its speed. */
const CHUNK_CHARACTERS = 65_536;

/** The file's text in chunks of about CHUNK_CHARACTERS (see exportLines). */
export async function* exportChunks(stores: ExportStores, job: BulkExport, file: BulkExportFile, onPatient: (patientId: string) => Promise<void>): AsyncGenerator<string> {
  let chunk = '';
  for await (const lines of exportLines(stores, job, file, onPatient)) {
    chunk += lines;
    if (chunk.length >= CHUNK_CHARACTERS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The lines of one file, a patient at a time; `onPatient` is told of each patient before their lines
 * (the audit record of the read).
 */
export async function* exportLines(stores: ExportStores, job: BulkExport, file: BulkExportFile, onPatient: (patientId: string) => Promise<void>): AsyncGenerator<string> {
  const { clinicalStore, readingsStore, deviceProfiles } = stores;
  const devicesWritten = new Set<string>();
  for (const patientId of file.patientIds) {
    const patient = await clinicalStore.patients.get(patientId);
    if (!patient) continue;
    await onPatient(patientId);
    if (file.type === 'Patient') {
      if (after(patient.updatedAt, job.since)) yield `${JSON.stringify(patientResource(patient))}\n`;
    } else if (file.type === 'Device') {
      // Every device the patient has had, and the gateways they reported through.
      const deviceIds = [...new Set((await clinicalStore.devices.assignmentsOfPatient(patientId)).map((assignment) => assignment.deviceId))];
      for (const deviceId of deviceIds) {
        const device = await clinicalStore.devices.get(deviceId);
        const related = [device, device?.gatewayId ? await clinicalStore.devices.get(device.gatewayId) : undefined];
        for (const each of related) {
          if (!each || devicesWritten.has(each.id) || !after(each.retiredAt ?? each.createdAt, job.since)) continue;
          devicesWritten.add(each.id);
          const resource: FhirDevice = deviceResource({ device: each, patientId: each.id === deviceId ? patientId : undefined, profile: each.model ? deviceProfiles.get(each.model) : undefined });
          yield `${JSON.stringify(resource)}\n`;
        }
      }
    } else {
      for await (const reading of patientReadings(readingsStore, patientId)) {
        // Received by the transaction time (a later one belongs to the next export), and after _since.
        if (reading.receivedAt > job.transactionTime || !after(reading.receivedAt, job.since)) continue;
        let lines = '';
        for (const { json } of numberedObservationJsonOf(reading)) lines += `${json}\n`;
        yield lines;
      }
    }
  }
}
