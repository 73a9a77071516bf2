// How the population lists (the Adherence worklist, the CGM population) read a whole care team:
// every page of its patients up to a maximum, then each patient's figures a few at a time.
import { setImmediate } from 'node:timers/promises';
import { everyItem, type Patient } from '../store/index.js';
import { API_ERRORS, ApiError } from './errors.js';

/**
 * Every patient of a listing. Past `max` patients an answer would take seconds: the caller is asked
 * to name one team (a 400 naming `careTeamId`), before any patient's figures are read.
 */
export async function everyPatientUpTo(fetchPage: Parameters<typeof everyItem<Patient>>[0], max: number, whom: string): Promise<Patient[]> {
  const patients: Patient[] = [];
  for await (const patient of everyItem(fetchPage)) {
    if (patients.length === max) throw new ApiError(API_ERRORS.VALIDATION, `querystring/careTeamId: more than ${max} ${whom} in the teams asked; ask for one care team at a time`);
    patients.push(patient);
  }
  return patients;
}

/**
 * Reads each patient with `concurrency` in flight: InfluxDB answers each over HTTP, so a few in
 * flight overlap its round trips (bench/cgm-population.ts). The embedded store reads synchronously,
 * so the event loop gets its turn between patients and ingest is not held up for a whole team.
 * Rows come back in no particular order (each list sorts its own); `undefined` leaves a patient out.
 */
export async function readEachPatient<Row>(patients: readonly Patient[], concurrency: number, read: (patient: Patient) => Promise<Row | undefined>): Promise<Row[]> {
  const rows: Row[] = [];
  let next = 0;
  const reader = async () => {
    for (let index = next++; index < patients.length; index = next++) {
      const row = await read(patients[index]!);
      if (row !== undefined) rows.push(row);
      await setImmediate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, patients.length)) }, reader));
  return rows;
}
