// A FHIR client nobody here wrote (fhir-kit-client) reads the API as it would any FHIR server: it
// discovers the server's capabilities, searches a patient's Observations over a date range, and pages
// through them with the Bundle's next links; a read of one Observation by id; the server's errors
// reach it as OperationOutcomes; the CGM summary operation, its members resolved inside the Bundle.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from 'fhir-kit-client';
import type { Bundle, CapabilityStatement, Observation, OperationOutcome } from '@medplum/fhirtypes';
import type { StoredReading } from '../../../device-profiles/index.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';

const DAYS = 90;
const READINGS_PER_DAY = 6;

describe('a published FHIR client (fhir-kit-client) reading the API', () => {
  let app: ApiHarness;
  let client: InstanceType<typeof Client>;
  const patientId = unique('kit');

  beforeAll(async () => {
    app = await startApiHarness({ rateLimitPerMinute: 0 });
    await app.clinicalStore.patients.create({ id: patientId, name: 'Grace Hopper', birthDate: '1946-12-09', timezone: 'America/Chicago', careTeamId: app.teamId });
    const readings: StoredReading[] = [];
    // 90 days of a scale's morning and evening weights and four SpO2 readings a day: 540 readings.
    for (let day = 0; day < DAYS; day++) {
      for (let slot = 0; slot < READINGS_PER_DAY; slot++) {
        const measuredAt = new Date(Date.UTC(2026, 6, 1 + day, 12 + slot * 2)).toISOString();
        const weight = slot < 2;
        readings.push({
          patientId,
          deviceId: weight ? 'kit-scale' : 'kit-oximeter',
          readingId: `${day}-${slot}`,
          kind: weight ? 'weight' : 'spo2',
          measuredAt,
          measuredAtAsSent: measuredAt,
          receivedAt: measuredAt,
          gatewayId: null,
          source: 'device',
          unit: weight ? 'kg' : '%',
          values: { value: weight ? 80 + day / 100 : 95 },
          flags: {},
          original: { unit: weight ? 'kg' : '%', values: { value: weight ? 80 + day / 100 : 95 } },
        });
      }
    }
    // Two days of a CGM every 15 minutes (Chicago's 2026-07-01 and 02), rising 1 mg/dL a reading from 60.
    for (let index = 0; index < 192; index++) {
      const measuredAt = new Date(Date.UTC(2026, 6, 1, 5) + index * 15 * 60_000).toISOString();
      readings.push({ patientId, deviceId: 'kit-cgm', readingId: `cgm-${index}`, kind: 'cgm_glucose', measuredAt, measuredAtAsSent: measuredAt, receivedAt: measuredAt, gatewayId: null, source: 'device', unit: 'mg/dL', values: { value: 60 + index }, flags: {}, original: { unit: 'mg/dL', values: { value: 60 + index } } });
    }
    await app.readingsStore.write(readings);
    client = new Client({ baseUrl: `${app.baseUrl}/fhir/R4`, bearerToken: await app.token('nurse', [app.teamId], unique('nurse')) });
  });

  afterAll(async () => {
    await app?.stopAll();
  });

  it('reads the CapabilityStatement', async () => {
    const statement = (await client.capabilityStatement()) as unknown as CapabilityStatement;
    expect(statement.rest?.[0]?.resource?.map((resource) => resource.type)).toEqual(['Patient', 'Device', 'Observation']);
  });

  it('calls the CGM summary operation and resolves the summary’s members inside the Bundle it answers', async () => {
    const bundle = (await client.operation({ name: 'cgm-summary', resourceType: 'Patient', id: patientId, method: 'GET', input: { start: '2026-07-01', end: '2026-07-02' } })) as unknown as Bundle;
    expect(bundle.type).toBe('collection');
    const summary = bundle.entry![0]!.resource as Observation;
    const members = (await Promise.all(summary.hasMember!.map((member) => client.resolve({ reference: member.reference!, context: bundle as never })))) as unknown as Observation[];
    expect(members.map((member) => member.code?.coding?.[0]?.code)).toEqual(['97507-8', '106793-3', '97506-0', '104638-2', '104636-6', '104637-4']);
    // 192 readings, 60 to 251 mg/dL: the mean 155.5, 2 days worn, every 15-minute slot of the two days filled.
    expect(members[0]!.valueQuantity?.value).toBe(155.5);
    expect(members[4]!.valueQuantity).toMatchObject({ value: 2, code: 'd' });
    expect(members[5]!.valueQuantity?.value).toBe(100);
    // Times in ranges: 54–69 holds 10 readings (60–69), 70–180 holds 111, 181–250 holds 70, > 250 one.
    expect(members[1]!.component!.map((component) => component.valueQuantity?.value)).toEqual([0, 5.21, 57.81, 36.46, 0.52]);
  });

  it('searches a patient’s weights over a date range and follows next links to the end', async () => {
    let bundle = (await client.search({ resourceType: 'Observation', searchParams: { patient: patientId, code: 'http://loinc.org|29463-7', date: ['ge2026-07-11', 'lt2026-08-10'], _count: 25, _sort: 'date' } })) as unknown as Bundle;
    const weights: Observation[] = [];
    let pages = 0;
    for (;;) {
      pages += 1;
      weights.push(...(bundle.entry ?? []).map((entry) => entry.resource as Observation));
      const next = client.nextPage({ bundle: bundle as never });
      if (!next) break;
      bundle = (await next) as unknown as Bundle;
    }
    // 30 days, two weighings a day.
    expect(weights).toHaveLength(60);
    expect(pages).toBe(3);
    expect(weights[0]!.effectiveDateTime).toBe('2026-07-11T12:00:00.000Z');
    expect(weights.at(-1)!.effectiveDateTime).toBe('2026-08-09T14:00:00.000Z');
    expect(new Set(weights.map((weight) => weight.id)).size).toBe(60);
  });

  it('reads one Observation by id, and is told by an OperationOutcome when it asks for what is not there', async () => {
    const first = (await client.search({ resourceType: 'Observation', searchParams: { patient: `Patient/${patientId}`, _count: 1 } })) as unknown as Bundle;
    const newest = first.entry![0]!.resource as Observation;
    expect(newest.effectiveDateTime).toBe(new Date(Date.UTC(2026, 6, DAYS, 22)).toISOString());
    expect(await client.read({ resourceType: 'Observation', id: newest.id! })).toEqual(newest);
    const failure = (await client.read({ resourceType: 'Observation', id: 'nothing-here' }).then(
      () => undefined,
      (error: { response?: { status: number; data: unknown } }) => error.response,
    )) as { status: number; data: OperationOutcome } | undefined;
    expect(failure?.status).toBe(404);
    expect(failure?.data.resourceType).toBe('OperationOutcome');
  });
});
