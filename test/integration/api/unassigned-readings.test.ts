// Readings from a provisioned device with no patient at their time are held, grouped by device
// (counts and times, no values), and assigning the device with `replay` re-ingests exactly those its
// new assignment covers, once, whatever was sent twice (issue #23 item 6; issue #21's devices page).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, reading, unique } from '../../support/ingest-harness.js';

let app: ApiHarness;
let patientA: string;
let nurseA: string;
let nurseB: string;
let admin: string;

interface Held {
  deviceId: string;
  kind: string | null;
  count: number;
  firstMeasuredAt: string | null;
  lastMeasuredAt: string | null;
}

beforeAll(async () => {
  app = await startApiHarness();
  const teamB = (await app.clinicalStore.careTeams.create({ id: unique('team-b'), name: 'Team B' })).id;
  patientA = (await app.clinicalStore.patients.create({ name: 'Patient A', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: app.teamId, enrolledAt: '2026-01-01T00:00:00Z' })).id;
  nurseA = await app.token('nurse', [app.teamId], unique('nurse-a'));
  nurseB = await app.token('nurse', [teamB], unique('nurse-b'));
  admin = await app.token('admin', [], unique('admin'));
});
afterAll(async () => app?.stopAll());

const heldOf = async (token: string, deviceId: string) => ((await app.request('GET', '/v1/unassigned-readings', { token })).body as { devices: Held[] }).devices.find((d) => d.deviceId === deviceId);

describe('readings held for an unassigned device', () => {
  it('holds them through MQTT, groups them by device, and re-ingests exactly those the assignment covers, once', async () => {
    const id = unique('cuff');
    const { secret } = await app.clinicalStore.devices.provision({ id, kind: 'blood_pressure' });
    const client = await connect(app.url, id, secret);
    const topic = `rpm/v1/devices/${id}/readings`;
    const october = reading(id, { readingId: 'oct', measuredAt: '2026-10-01T08:00:00Z' });
    const novemberA = reading(id, { readingId: 'nov-a', measuredAt: '2026-11-20T08:00:00Z' });
    const novemberB = reading(id, { readingId: 'nov-b', measuredAt: '2026-11-21T08:00:00Z' });
    const novemberC = reading(id, { readingId: 'nov-c', measuredAt: '2026-11-22T08:00:00-05:00' });
    await client.publishAsync(topic, JSON.stringify(october), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ readings: [novemberA, novemberB] }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify(novemberC), { qos: 1 });
    // The device sends one again, as devices do when a receipt is late: held twice, stored once.
    await client.publishAsync(topic, JSON.stringify(novemberC), { qos: 1 });
    await client.endAsync();

    const held = await eventually(async () => {
      const found = await heldOf(admin, id);
      return found && found.count === 5 ? found : undefined;
    });
    expect(held).toMatchObject({ kind: 'blood_pressure', firstMeasuredAt: '2026-10-01T08:00:00.000Z', lastMeasuredAt: '2026-11-22T13:00:00.000Z' });
    // Counts and times only: no values of readings that belong to nobody yet.
    expect(Object.keys(held).sort()).toEqual(['count', 'deviceId', 'firstMeasuredAt', 'firstReceivedAt', 'kind', 'lastMeasuredAt', 'lastReceivedAt']);
    // In stock: any nurse who might assign it sees it.
    expect(await heldOf(nurseB, id)).toMatchObject({ count: 5 });

    const assigned = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseA, body: { patientId: patientA, from: '2026-11-01T00:00:00Z', replay: true } });
    expect(assigned.status).toBe(200);
    expect((assigned.body as { replayed: unknown }).replayed).toEqual({ replayed: 4, accepted: 3, duplicates: 1, rejected: 0 });
    const stored = (await app.request('GET', `/v1/patients/${patientA}/readings?from=2026-09-01T00:00:00Z&to=2026-12-01T00:00:00Z`, { token: nurseA })).body as { readings: { readingId: string }[] };
    expect(stored.readings.map((r) => r.readingId).sort()).toEqual(['nov-a', 'nov-b', 'nov-c']);

    // October was before the assignment: still held, now seen by team A only (the device is theirs).
    expect(await heldOf(nurseA, id)).toMatchObject({ count: 1, firstMeasuredAt: '2026-10-01T08:00:00.000Z' });
    expect(await heldOf(nurseB, id)).toBeUndefined();
    const again = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseA, body: { patientId: patientA, from: '2026-11-01T00:00:00Z', replay: true } });
    expect((again.body as { replayed: unknown }).replayed).toEqual({ replayed: 0, accepted: 0, duplicates: 0, rejected: 0 });
    // An assignment that has begun cannot be moved earlier: October's reading stays held, visible, for a person to decide.
    const earlier = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseA, body: { patientId: patientA, from: '2026-09-01T00:00:00Z', replay: true } });
    expect(earlier.status).toBe(409);
    expect(await heldOf(admin, id)).toMatchObject({ count: 1 });
  });

  it('answers a patient, a physician and billing with 403', async () => {
    for (const role of ['physician', 'billing'] as const) {
      expect((await app.request('GET', '/v1/unassigned-readings', { token: await app.token(role, [app.teamId]) })).status).toBe(403);
    }
  });
});
