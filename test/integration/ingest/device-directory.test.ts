// The device directory ingest evaluates against: cached, answered without waiting once loaded,
// and never stale past a change made through the same clinical store, or past its time limit.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedDeviceDirectory } from '../../../ingest/index.js';
import { ClinicalStore } from '../../../store/index.js';

let store: ClinicalStore;
let teamId: string;

beforeAll(async () => {
  store = await ClinicalStore.open({ dialect: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'rpm-directory-')), 'clinical.sqlite') });
  teamId = (await store.careTeams.create({ id: 'team-directory', name: 'Directory team' })).id;
});

afterAll(async () => {
  await store?.close();
});

async function assignedCuff(id: string) {
  await store.devices.provision({ id, kind: 'blood_pressure' });
  const patient = await store.patients.create({ name: 'Directory Patient', birthDate: '1950-01-01', timezone: 'America/New_York', careTeamId: teamId });
  await store.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
  return patient.id;
}

describe('cached device directory', () => {
  it('answers from memory once loaded, the same as the store', async () => {
    const patientId = await assignedCuff('cuff-peek-1');
    const directory = new CachedDeviceDirectory(store);
    expect(directory.peek('cuff-peek-1')).toBeUndefined();
    expect((await directory.device('cuff-peek-1'))?.kind).toBe('blood_pressure');
    const peeked = directory.peek('cuff-peek-1');
    expect(peeked?.device?.id).toBe('cuff-peek-1');
    expect(peeked?.patientAt('2026-11-20T08:00:00-05:00')).toBe(patientId);
    expect(peeked?.patientAt('2025-12-31T23:59:59.999Z')).toBeUndefined();
    expect(await directory.patientAt('cuff-peek-1', '2026-11-20T08:00:00-05:00')).toBe(patientId);
    // An unknown device is remembered as unknown, and says so without waiting too.
    await directory.device('no-such-device');
    expect(directory.peek('no-such-device')).toEqual({ device: undefined, patientAt: expect.any(Function) });
    directory.close();
  });

  it('forgets a device the moment it changes: a reassignment is never answered from the old entry', async () => {
    const first = await assignedCuff('cuff-peek-2');
    const directory = new CachedDeviceDirectory(store);
    expect(await directory.patientAt('cuff-peek-2', '2026-11-20T13:00:00.000Z')).toBe(first);
    const second = (await store.patients.create({ name: 'Next Patient', birthDate: '1960-01-01', timezone: 'America/New_York', careTeamId: teamId })).id;
    await store.devices.assign('cuff-peek-2', second, { at: '2026-11-20T12:00:00Z', by: 'test' });
    expect(directory.peek('cuff-peek-2')).toBeUndefined();
    expect(await directory.patientAt('cuff-peek-2', '2026-11-20T13:00:00.000Z')).toBe(second);
    expect(directory.peek('cuff-peek-2')?.patientAt('2026-11-20T13:00:00.000Z')).toBe(second);
    expect(directory.peek('cuff-peek-2')?.patientAt('2026-11-20T11:00:00.000Z')).toBe(first);
    directory.close();
  });

  it('answers nothing from memory past its time limit (changes made by another process)', async () => {
    await assignedCuff('cuff-peek-3');
    const directory = new CachedDeviceDirectory(store, 50);
    await directory.device('cuff-peek-3');
    expect(directory.peek('cuff-peek-3')).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(directory.peek('cuff-peek-3')).toBeUndefined();
    // The next asynchronous lookup loads it again.
    expect((await directory.device('cuff-peek-3'))?.id).toBe('cuff-peek-3');
    expect(directory.peek('cuff-peek-3')).toBeDefined();
    directory.close();
  });
});
