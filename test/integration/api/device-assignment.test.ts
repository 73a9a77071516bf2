// A device belongs to the team whose patient has it: another team's nurse can neither move it onto
// her own patient nor lock it with a far-future start; an admin can correct any assignment; the
// device list shows a nurse her teams' devices and the unassigned ones (issue #19, item 3).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, reading, unique } from '../../support/ingest-harness.js';

let app: ApiHarness;
let teamB: string;
let patientA: string;
let patientB: string;
let nurseA: string;
let nurseB: string;
let admin: string;

beforeAll(async () => {
  app = await startApiHarness();
  teamB = (await app.clinicalStore.careTeams.create({ id: unique('team-b'), name: 'Team B' })).id;
  patientA = (await app.clinicalStore.patients.create({ name: 'Patient A', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: app.teamId })).id;
  patientB = (await app.clinicalStore.patients.create({ name: 'Patient B', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamB })).id;
  nurseA = await app.token('nurse', [app.teamId], unique('nurse-a'));
  nurseB = await app.token('nurse', [teamB], unique('nurse-b'));
  admin = await app.token('admin', [], unique('admin'));
});
afterAll(async () => app?.stopAll());

async function deviceOfA(): Promise<string> {
  const id = unique('meter');
  await app.clinicalStore.devices.provision({ id, kind: 'glucose' });
  expect((await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseA, body: { patientId: patientA } })).status).toBe(200);
  return id;
}

describe('device assignment across care teams', () => {
  it("refuses a nurse moving another team's device onto her own patient, and the device stays where it was", async () => {
    const id = await deviceOfA();
    const moved = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseB, body: { patientId: patientB } });
    expect(moved.status).toBe(403);
    expect(moved.body).toEqual({ error: 'RPM_ERR_FORBIDDEN', message: expect.stringMatching(/assigned to a patient of another care team/) });
    expect(await app.clinicalStore.devices.patientAt(id, new Date().toISOString())).toBe(patientA);
  });

  it('refuses a start far in the future, naming the field', async () => {
    const id = unique('meter');
    await app.clinicalStore.devices.provision({ id, kind: 'glucose' });
    const locked = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseB, body: { patientId: patientB, from: '2099-01-01T00:00:00Z' } });
    expect(locked.status).toBe(400);
    expect(locked.body).toEqual({ error: 'RPM_ERR_VALIDATION', message: expect.stringMatching(/^body\/from: may be at most 14 days ahead/) });
    expect(await app.clinicalStore.devices.assignmentHistory(id)).toEqual([]);
  });

  it("lets an admin correct a scheduled assignment, and refuses another team's nurse the same", async () => {
    const id = await deviceOfA();
    const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString();
    expect((await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseA, body: { patientId: patientA, from: inAWeek } })).status).toBe(200);
    const scheduledB = await app.request('PUT', `/v1/devices/${unique('none')}/assignment`, { token: nurseB, body: { patientId: patientB } });
    expect(scheduledB.status).toBe(404);
    const corrected = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: admin, body: { patientId: patientB } });
    expect(corrected.status).toBe(200);
    expect(await app.clinicalStore.devices.patientAt(id, inAWeek)).toBe(patientB);
    // Now team B's: team A's nurse cannot take it back, team B's nurse can move it within her team.
    expect((await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseA, body: { patientId: patientA } })).status).toBe(403);
  });

  it('lists for a nurse her teams\' devices and the unassigned ones, never another team\'s', async () => {
    const ofA = await deviceOfA();
    const stock = unique('scale');
    await app.clinicalStore.devices.provision({ id: stock, kind: 'weight' });
    const listed = async (token: string) => ((await app.request('GET', '/v1/devices?limit=500', { token })).body as { devices: { id: string }[] }).devices.map((d) => d.id);
    const seenByB = await listed(nurseB);
    expect(seenByB).toContain(stock);
    expect(seenByB).not.toContain(ofA);
    expect(await listed(nurseA)).toEqual(expect.arrayContaining([ofA, stock]));
    expect(await listed(admin)).toEqual(expect.arrayContaining([ofA, stock]));
  });
});

describe('a device’s assignment history, without reassigning it', () => {
  it("shows the dates of another team's use without that team's patient, and hides a device another team holds", async () => {
    const id = unique('cuff');
    await app.clinicalStore.devices.provision({ id, kind: 'blood_pressure' });
    await app.clinicalStore.devices.assign(id, patientB, { at: '2026-01-01T00:00:00Z', by: 'test' });
    // In use by team B: team A's nurse is told it does not exist, as the device list leaves it out.
    expect((await app.request('GET', `/v1/devices/${id}/assignment`, { token: nurseA })).status).toBe(404);
    expect((await app.request('GET', `/v1/devices/${id}/assignment`, { token: nurseB })).body).toEqual({ deviceId: id, history: [expect.objectContaining({ patientId: patientB, assignedUntil: null })] });
    // Returned to stock by an admin and given to team A: A's nurse sees B's period, not B's patient.
    await app.clinicalStore.devices.assign(id, patientA, { at: '2026-02-01T00:00:00Z', by: 'test' });
    const seenByA = await app.request('GET', `/v1/devices/${id}/assignment`, { token: nurseA });
    expect(seenByA.status).toBe(200);
    expect((seenByA.body as { history: { patientId: string | null; assignedFrom: string }[] }).history.map((row) => [row.patientId, row.assignedFrom.slice(0, 10)])).toEqual([
      [null, '2026-01-01'],
      [patientA, '2026-02-01'],
    ]);
    const admins = await app.request('GET', `/v1/devices/${id}/assignment`, { token: admin });
    expect((admins.body as { history: { patientId: string }[] }).history.map((row) => row.patientId)).toEqual([patientB, patientA]);
    // The answer to a reassignment is redacted the same way.
    const reassigned = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurseA, body: { patientId: patientA } });
    expect((reassigned.body as { history: { patientId: string | null }[] }).history[0]!.patientId).toBeNull();
    expect((await app.request('GET', `/v1/devices/${unique('none')}/assignment`, { token: admin })).status).toBe(404);
  });
});

describe('the device list: whose each device is, when it last sent, its battery', () => {
  interface Listed {
    id: string;
    assignment: { patientId: string | null; patientName: string | null; assignedFrom: string; assignedUntil: string | null } | null;
    lastMeasuredAt: string | null;
    lastReceivedAt: string | null;
    status: { batteryPercent: number | null; signalRssi: number | null; source: string } | null;
  }
  const listedAs = async (token: string, id: string) => ((await app.request('GET', '/v1/devices?limit=500', { token })).body as { devices: Listed[] }).devices.find((d) => d.id === id);

  it('shows the patient, the newest reading accepted over MQTT (an older one sent later moves nothing) and the last status', async () => {
    const id = unique('cuff');
    const { secret } = await app.clinicalStore.devices.provision({ id, kind: 'blood_pressure' });
    expect(await listedAs(nurseA, id)).toMatchObject({ assignment: null, lastMeasuredAt: null, lastReceivedAt: null, status: null });
    await app.clinicalStore.devices.assign(id, patientA, { at: '2026-01-01T00:00:00Z', by: 'test' });
    const client = await connect(app.url, id, secret);
    const topic = `rpm/v1/devices/${id}/readings`;
    const newest = new Date(Date.now() - 60_000).toISOString();
    await client.publishAsync(topic, JSON.stringify(reading(id, { readingId: 'newest', measuredAt: newest })), { qos: 1 });
    // A reading from yesterday the cuff kept and sends afterwards: stored, but the cuff's last reading stays the newest.
    await client.publishAsync(topic, JSON.stringify(reading(id, { readingId: 'older', measuredAt: new Date(Date.now() - 86_400_000).toISOString() })), { qos: 1 });
    await client.endAsync();
    await app.clinicalStore.devices.reportStatus({ deviceId: id, reportedAt: new Date().toISOString(), source: 'tenovi', batteryPercent: 17, batteryVoltage: null, signalRssi: null });

    const listed = await eventually(async () => {
      const found = await listedAs(nurseA, id);
      return found?.lastMeasuredAt === newest && (await app.readingsStore.query({ patientId: patientA, from: '2026-01-01T00:00:00Z', to: new Date(Date.now() + 60_000).toISOString() })).filter((r) => r.deviceId === id).length === 2 ? found : undefined;
    });
    // Flushed once more after both readings were accepted: still the newest.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await listedAs(nurseA, id);
    expect(after).toMatchObject({ assignment: { patientId: patientA, patientName: 'Patient A', assignedFrom: '2026-01-01T00:00:00.000Z', assignedUntil: null }, lastMeasuredAt: newest, status: { source: 'tenovi', batteryPercent: 17, signalRssi: null } });
    expect(Date.parse(after!.lastReceivedAt!)).toBeGreaterThanOrEqual(Date.parse(listed.lastReceivedAt!));
    // Another team's nurse does not see the device at all; an admin sees whose it is.
    expect(await listedAs(nurseB, id)).toBeUndefined();
    expect((await listedAs(admin, id))?.assignment?.patientId).toBe(patientA);
  });

  it("names no patient of another team: a device with team B's patient until tomorrow, team A's from then", async () => {
    const id = unique('scale');
    await app.clinicalStore.devices.provision({ id, kind: 'weight' });
    await app.clinicalStore.devices.assign(id, patientB, { at: '2026-01-01T00:00:00Z', by: 'test' });
    await app.clinicalStore.devices.assign(id, patientA, { at: new Date(Date.now() + 86_400_000).toISOString(), by: 'test' });
    expect((await listedAs(nurseA, id))?.assignment).toMatchObject({ patientId: null, patientName: null, assignedFrom: '2026-01-01T00:00:00.000Z' });
    expect((await listedAs(nurseB, id))?.assignment).toBeUndefined();
    expect((await listedAs(admin, id))?.assignment).toMatchObject({ patientId: patientB, patientName: 'Patient B' });
  });
});
