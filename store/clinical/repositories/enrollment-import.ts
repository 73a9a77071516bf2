// Onboarding in bulk: patients, their devices and the assignments from a spreadsheet (CSV), as a
// clinic starting with 500 patients has them, instead of 1,500 API calls against the rate limit.
// Every row is checked first and every problem reported with its line and field; only a file with
// none is imported, in one transaction, so a file is imported whole or not at all.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { parse } from 'csv-parse/sync';
import { DEVICE_ID_PATTERN, isMeasurementKind } from '../../../device-profiles/index.js';
import { generateDeviceSecret, hashDeviceSecret, mosquittoPasswordHash } from '../../credentials.js';
import { RpmError } from '../../../device-profiles/index.js';
import { isUniqueViolation, STORE_ERRORS } from '../../errors.js';
import { canonicalTimeZone, nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase } from '../schema.js';
import { checkBirthDate, checkIdentifiers, notATimeZone, type PatientIdentifier } from './patients.js';

/** The columns of the file, in any order; the first line names them. */
export const ENROLLMENT_COLUMNS = ['patientId', 'name', 'birthDate', 'timezone', 'careTeamId', 'identifierSystem', 'identifier', 'deviceId', 'deviceKind', 'deviceModel', 'assignedFrom'] as const;
type Column = (typeof ENROLLMENT_COLUMNS)[number];
const REQUIRED_PATIENT_FIELDS = ['name', 'birthDate', 'timezone', 'careTeamId'] as const satisfies readonly Column[];
/** A clinic's spreadsheet, not a data dump: more rows than this is a mistake or an attack. */
export const MAX_IMPORT_ROWS = 5_000;

export interface ImportProblem {
  /** The line of the file (1 is the header). */
  line: number;
  field: string;
  message: string;
}

export interface ImportResult {
  patients: { id: string; name: string; line: number }[];
  /** Each device's MQTT secret, shown this once. */
  devices: { id: string; kind: string; patientId: string; secret: string }[];
}

/** A file with problems: nothing was imported. */
export class ImportRefused extends RpmError {
  constructor(readonly problems: ImportProblem[]) {
    super(STORE_ERRORS.INVALID_INPUT, `nothing imported: ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.slice(0, 20).map((p) => `line ${p.line}, ${p.field}: ${p.message}`).join('; ')}${problems.length > 20 ? '; …' : ''}`, { problems });
  }
}

interface Row {
  line: number;
  values: Partial<Record<Column, string>>;
}

const deviceIdPattern = new RegExp(DEVICE_ID_PATTERN);
const PATIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function parseRows(text: string, problems: ImportProblem[]): Row[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: (header: string[]) => header.map((name) => name.trim()), bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: false }) as typeof records;
  } catch (error) {
    const csvError = error as { message: string; lines?: number };
    problems.push({ line: csvError.lines ?? 1, field: 'file', message: `not a CSV file this importer can read: ${csvError.message}` });
    return [];
  }
  const header = records[0] ? Object.keys(records[0].record) : [];
  for (const name of header) if (!(ENROLLMENT_COLUMNS as readonly string[]).includes(name)) problems.push({ line: 1, field: name, message: `unknown column; the columns are ${ENROLLMENT_COLUMNS.join(', ')}` });
  if (records.length > MAX_IMPORT_ROWS) problems.push({ line: 1, field: 'file', message: `${records.length} rows; import at most ${MAX_IMPORT_ROWS} at a time` });
  return records.map(({ record, info }) => ({ line: info.lines, values: Object.fromEntries(Object.entries(record).filter(([, value]) => value !== '')) as Row['values'] }));
}

/**
 * Checks a file against the store and imports it in one transaction. Rows with the same
 * `patientId` are one patient (the patient's fields on its first row; a later row may leave them
 * empty); a row naming an existing patient with no patient fields adds a device to that patient.
 * A row without a device enrols the patient alone. Devices must be new: re-provisioning an existing
 * device rotates its secret, which is `POST /v1/devices`' job.
 */
export async function importEnrollment(db: Kysely<ClinicalDatabase>, text: string, by: string): Promise<ImportResult> {
  const problems: ImportProblem[] = [];
  const rows = parseRows(text, problems);
  if (rows.length === 0 && problems.length === 0) problems.push({ line: 1, field: 'file', message: 'no rows after the header' });
  const now = nowInstant();
  const teams = new Set((await db.selectFrom('care_teams').select('id').execute()).map((row) => row.id));
  const patientIds = [...new Set(rows.flatMap((row) => (row.values.patientId ? [row.values.patientId] : [])))];
  const existingPatients = new Set<string>();
  for (let i = 0; i < patientIds.length; i += 500) for (const row of await db.selectFrom('patients').select('id').where('id', 'in', patientIds.slice(i, i + 500)).execute()) existingPatients.add(row.id);
  const deviceIds = [...new Set(rows.flatMap((row) => (row.values.deviceId ? [row.values.deviceId] : [])))];
  const existingDevices = new Set<string>();
  for (let i = 0; i < deviceIds.length; i += 500) for (const row of await db.selectFrom('devices').select('id').where('id', 'in', deviceIds.slice(i, i + 500)).execute()) existingDevices.add(row.id);

  const newPatients = new Map<string, { id: string; line: number; name: string; birthDate: string; timezone: string; careTeamId: string; identifiers: PatientIdentifier[] }>();
  /** A new patient's number in another system (the EHR's MRN), by `system|value`: the line that gave it. */
  const numbersSeen = new Map<string, number>();
  const devices: { line: number; id: string; kind: string; model: string | null; patientId: string; from: string }[] = [];
  const devicesSeen = new Map<string, number>();
  for (const { line, values } of rows) {
    const problem = (field: string, message: string) => problems.push({ line, field, message });
    const givenPatientFields = REQUIRED_PATIENT_FIELDS.filter((field) => values[field] !== undefined);
    let patientId = values.patientId;
    if (patientId !== undefined && !PATIENT_ID.test(patientId)) problem('patientId', 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-"');
    const numberGiven = values.identifierSystem !== undefined || values.identifier !== undefined;
    if (patientId !== undefined && existingPatients.has(patientId)) {
      if (givenPatientFields.length > 0) problem('patientId', `patient ${patientId} already exists; leave ${givenPatientFields.join(', ')} empty to add a device to it`);
      if (numberGiven) problem('identifier', `patient ${patientId} already exists; give their numbers with PATCH /v1/patients/${patientId}`);
    } else if (patientId !== undefined && newPatients.has(patientId)) {
      const first = newPatients.get(patientId)!;
      for (const field of givenPatientFields) if (values[field] !== first[field]) problem(field, `differs from line ${first.line} for the same patientId ${patientId}`);
      if (numberGiven) problem('identifier', `give the patient's number on their first row (line ${first.line})`);
    } else {
      for (const field of REQUIRED_PATIENT_FIELDS) if (values[field] === undefined) problem(field, 'is required for a new patient');
      const timezone = values.timezone === undefined ? undefined : canonicalTimeZone(values.timezone);
      if (values.timezone !== undefined && !timezone) problem('timezone', notATimeZone(values.timezone));
      if (values.birthDate !== undefined) {
        try {
          checkBirthDate(values.birthDate);
        } catch (error) {
          problem('birthDate', (error as Error).message.replace(/^birthDate: /, ''));
        }
      }
      if (values.careTeamId !== undefined && !teams.has(values.careTeamId)) problem('careTeamId', `no care team ${values.careTeamId}`);
      if (values.name !== undefined && values.name.length > 200) problem('name', 'at most 200 characters');
      const identifiers = numberOf(values, problem);
      for (const { system, value } of identifiers) {
        const earlier = numbersSeen.get(`${system}|${value}`);
        if (earlier !== undefined) problem('identifier', `also on line ${earlier}: a number is one patient's`);
        numbersSeen.set(`${system}|${value}`, line);
      }
      patientId ??= randomUUID();
      newPatients.set(patientId, { id: patientId, line, name: values.name ?? '', birthDate: values.birthDate ?? '', timezone: timezone ?? '', careTeamId: values.careTeamId ?? '', identifiers });
    }
    const deviceFields = (['deviceId', 'deviceKind', 'deviceModel', 'assignedFrom'] as const).filter((field) => values[field] !== undefined);
    if (deviceFields.length === 0) continue;
    if (!values.deviceId) {
      problem('deviceId', `is required with ${deviceFields.join(', ')}`);
      continue;
    }
    if (!deviceIdPattern.test(values.deviceId)) problem('deviceId', 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-" (it becomes an MQTT topic level)');
    if (existingDevices.has(values.deviceId)) problem('deviceId', `device ${values.deviceId} already exists; assign it with PUT /v1/devices/${values.deviceId}/assignment`);
    const earlier = devicesSeen.get(values.deviceId);
    if (earlier !== undefined) problem('deviceId', `also on line ${earlier}: a device belongs to one patient`);
    devicesSeen.set(values.deviceId, line);
    if (!values.deviceKind) problem('deviceKind', 'is required with a deviceId');
    else if (!isMeasurementKind(values.deviceKind)) problem('deviceKind', `"${values.deviceKind}" is not a measurement kind (blood_pressure, glucose, weight, spo2, temperature, heart_rate)`);
    let from = now;
    if (values.assignedFrom !== undefined) {
      try {
        from = toInstant(values.assignedFrom, 'assignedFrom');
      } catch {
        problem('assignedFrom', `"${values.assignedFrom}" is not an instant such as 2026-12-01T00:00:00Z`);
      }
    }
    devices.push({ line, id: values.deviceId, kind: values.deviceKind ?? '', model: values.deviceModel ?? null, patientId, from });
  }
  for (const patient of newPatients.values()) {
    for (const { system, value } of patient.identifiers) {
      const holder = await db.selectFrom('patient_identifiers').select('patient_id').where('system', '=', system).where('value', '=', value).executeTakeFirst();
      if (holder) problems.push({ line: patient.line, field: 'identifier', message: `${system} ${value} is another patient's number` });
    }
  }
  if (problems.length > 0) throw new ImportRefused(problems.sort((a, b) => a.line - b.line));

  const secrets = new Map(devices.map((device) => [device.id, generateDeviceSecret()]));
  await db.transaction().execute(async (trx) => {
    for (const patient of newPatients.values()) {
      await trx.insertInto('patients').values({ id: patient.id, care_team_id: patient.careTeamId, name: patient.name, birth_date: patient.birthDate, timezone: patient.timezone, enrolled_at: now, created_at: now, updated_at: now, identifiers: JSON.stringify(patient.identifiers) }).execute();
      for (const { system, value } of patient.identifiers) {
        try {
          await trx.insertInto('patient_identifiers').values({ system, value, patient_id: patient.id }).execute();
        } catch (error) {
          // Taken since the check by a patient changed meanwhile: nothing is imported.
          if (isUniqueViolation(error)) throw new ImportRefused([{ line: patient.line, field: 'identifier', message: `${system} ${value} is another patient's number` }]);
          throw error;
        }
      }
    }
    for (const device of devices) {
      const secret = secrets.get(device.id)!;
      await trx.insertInto('devices').values({ id: device.id, kind: device.kind, model: device.model, gateway_id: null, secret_hash: hashDeviceSecret(secret), broker_password_hash: mosquittoPasswordHash(secret), secret_rotated_at: now, created_at: now, retired_at: null }).execute();
      await trx.insertInto('device_assignments').values({ device_id: device.id, patient_id: device.patientId, assigned_from: device.from, assigned_until: null, assigned_by: by, created_at: now }).execute();
    }
  });
  return {
    patients: [...newPatients.values()].map(({ id, name, line }) => ({ id, name, line })),
    devices: devices.map((device) => ({ id: device.id, kind: device.kind, patientId: device.patientId, secret: secrets.get(device.id)! })),
  };
}

/** A new patient's number in another system from its two columns, both or neither; problems named by column. */
function numberOf(values: Row['values'], problem: (field: string, message: string) => void): PatientIdentifier[] {
  const { identifierSystem: system, identifier: value } = values;
  if (system === undefined && value === undefined) return [];
  if (system === undefined || value === undefined) {
    problem(system === undefined ? 'identifierSystem' : 'identifier', `is required with ${system === undefined ? 'identifier' : 'identifierSystem'}`);
    return [];
  }
  try {
    return checkIdentifiers([{ system, value }]);
  } catch (error) {
    const message = (error as Error).message;
    problem(message.startsWith('identifiers/0/system') ? 'identifierSystem' : 'identifier', message.replace(/^identifiers\/0\/(system|value): /, ''));
    return [];
  }
}
