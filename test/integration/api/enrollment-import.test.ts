// Bulk enrollment through the API (issue #22): an admin posts a clinic's spreadsheet as CSV; every
// bad row comes back with its line and field and nothing is imported; a good file creates patients,
// devices and assignments at once, and the devices can publish with the secrets answered once.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, reading, unique } from '../../support/ingest-harness.js';

let app: ApiHarness;
let admin: string;
beforeAll(async () => {
  app = await startApiHarness();
  admin = await app.token('admin', [], 'admin-1');
});
afterAll(async () => app?.stopAll());

const post = (csv: string, token = admin) => fetch(`${app.baseUrl}/v1/enrollment/import`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/csv' }, body: csv });

describe('POST /v1/enrollment/import', () => {
  it('refuses a file with bad rows, naming each line and field, and imports nothing of it', async () => {
    const mrn = unique('mrn');
    const response = await post(`patientId,name,birthDate,timezone,careTeamId,deviceId,deviceKind,colour\n${mrn},Ada,1948-03-02,UTC,${app.teamId},${unique('cuff')},blood_pressure,blue\n,Ben,2099-01-01,UTC,${app.teamId},,,\n`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; problems: { line: number; field: string }[] };
    expect(body.error).toBe('RPM_ERR_VALIDATION');
    expect(body.problems.map((p) => [p.line, p.field])).toEqual([
      [1, 'colour'],
      [3, 'birthDate'],
    ]);
    expect(await app.clinicalStore.patients.get(mrn)).toBeUndefined();
  });

  it('enrols patients with their devices in one go; a device publishes with the secret answered once', async () => {
    const [mrn, cuff] = [unique('mrn'), unique('cuff')];
    const response = await post(`patientId,name,birthDate,timezone,careTeamId,deviceId,deviceKind,assignedFrom\n${mrn},Ada Example,1948-03-02,America/New_York,${app.teamId},${cuff},blood_pressure,2026-01-01T00:00:00Z\n`);
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { patients: { id: string }[]; devices: { id: string; secret: string }[] };
    expect(body.patients.map((p) => p.id)).toEqual([mrn]);
    const client = await connect(app.url, cuff, body.devices[0]!.secret);
    await client.publishAsync(`rpm/v1/devices/${cuff}/readings`, JSON.stringify(reading(cuff)), { qos: 1 });
    await client.endAsync();
    await eventually(async () => ((await app.readingsStore.query({ patientId: mrn, from: '2026-01-01T00:00:00Z', to: new Date(Date.now() + 60_000).toISOString() })).length === 1 ? true : undefined));
  });

  it('enrols each patient with their number in the EHR (identifierSystem, identifier); a number on two rows, another patient’s, or half given is refused by line', async () => {
    const MRN = 'http://hospital.example.org/mrn';
    const [first, second, taken] = [unique('mrn'), unique('mrn'), unique('mrn')];
    await app.clinicalStore.patients.create({ name: 'Holder', birthDate: '1940-01-01', timezone: 'UTC', careTeamId: app.teamId, identifiers: [{ system: MRN, value: taken }] });
    const header = 'name,birthDate,timezone,careTeamId,identifierSystem,identifier';
    const refused = await post(`${header}
Ada,1948-03-02,UTC,${app.teamId},${MRN},${first}
Ben,1950-02-03,UTC,${app.teamId},${MRN},${first}
Cy,1951-01-01,UTC,${app.teamId},${MRN},${taken}
Dee,1952-01-01,UTC,${app.teamId},,${second}
Ed,1953-01-01,UTC,${app.teamId},MRN,${second}
`);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { problems: { line: number; field: string; message: string }[] }).problems).toEqual([
      { line: 3, field: 'identifier', message: 'also on line 2: a number is one patient\'s' },
      { line: 4, field: 'identifier', message: `${MRN} ${taken} is another patient's number` },
      { line: 5, field: 'identifierSystem', message: 'is required with identifier' },
      { line: 6, field: 'identifierSystem', message: expect.stringContaining('is not an absolute URI') },
    ]);
    expect(await app.clinicalStore.patients.byIdentifier(MRN, first)).toBeUndefined();
    const imported = await post(`${header}
Ada,1948-03-02,UTC,${app.teamId},${MRN},${first}
Ben,1950-02-03,UTC,${app.teamId},,
`);
    expect(imported.status).toBe(201);
    const [ada, ben] = ((await imported.json()) as { patients: { id: string }[] }).patients;
    expect((await app.clinicalStore.patients.byIdentifier(MRN, first))?.id).toBe(ada!.id);
    expect((await app.clinicalStore.patients.get(ada!.id))?.identifiers).toEqual([{ system: MRN, value: first }]);
    expect((await app.clinicalStore.patients.get(ben!.id))?.identifiers).toEqual([]);
  });

  it('is for admins only', async () => {
    const nurse = await app.token('nurse', [app.teamId], 'nurse-1');
    expect((await post('name\nAda\n', nurse)).status).toBe(403);
  });
});
