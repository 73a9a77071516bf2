// Readings set aside from a patient's record, with either clinical store: the husband's blood
// pressure on the patient's cuff, his glucose on her meter. The reading leaves the charts,
// the billing days and the rules' state; the crisis alert it alone raised is resolved with the
// reason; it is kept whole with why and by whom, a device re-sending it does not bring it back, and
// it can be put back. Refusals name the field; every call is audited.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { eventually, unique } from '../../support/ingest-harness.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

type Reading = { deviceId: string; readingId: string; measuredAt: string; source?: string; enteredBy?: string };
type SetAside = {
  id: string;
  deviceId: string;
  readingId: string;
  measuredAt: string;
  reading: Reading;
  reason: string;
  note: string | null;
  setAsideBy: string;
  restoredAt: string | null;
  restoredBy: string | null;
  movedTo: { patientId: string; readingId: string; patientName: string | null } | null;
};
type BatchAnswer = { setAside: SetAside[]; created: number; resolvedAlerts: number; notedAlerts: number; ehr: { withdrawn: number; retracting: number }; moved: { patientId: string; readingId: string; status: string }[] };
type Answer = { setAside: SetAside; resolvedAlerts: number; notedAlerts: number; ehr: { withdrawn: number; retracting: number }; moved: { patientId: string; readingId: string; status: string } | null };

function setAsideSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let admin: string;
  let nurse: string;

  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0 });
    admin = await app.token('admin');
    nurse = await app.token('nurse', [app.teamId], 'nurse-ivy');
  });
  afterAll(async () => {
    await app?.stopAll();
  });

  const enroll = async (name: string) =>
    ((await app.request('POST', '/v1/patients', { token: nurse, body: { name, birthDate: '1944-06-06', timezone: 'America/Chicago', careTeamId: app.teamId, enrolledAt: new Date(Date.now() - 2 * DAY_MS).toISOString() } })).body as { id: string }).id;
  const provision = async (kind: string, patientId: string) => {
    const id = unique(kind);
    const secret = ((await app.request('POST', '/v1/devices', { token: admin, body: { id, kind } })).body as { secret: string }).secret;
    expect((await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurse, body: { patientId, from: new Date(Date.now() - 2 * DAY_MS).toISOString() } })).status).toBe(200);
    return { id, secret };
  };
  const post = async (device: { id: string; secret: string }, reading: Record<string, unknown>) => {
    const response = await fetch(`${app.baseUrl}/v1/devices/${device.id}/readings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic(device.id, device.secret) }, body: JSON.stringify({ deviceId: device.id, ...reading }) });
    return { status: response.status, body: (await response.json()) as { receipts: { status: string }[] } };
  };
  const readingsOf = async (patientId: string, token = nurse) => ((await app.request('GET', `/v1/patients/${patientId}/readings`, { token })).body as { readings: Reading[] }).readings;
  const deviceDates = async (patientId: string, token = nurse) => ((await app.request('GET', `/v1/patients/${patientId}/billing-progress`, { token })).body as { device: { dates: string[] } | null }).device?.dates ?? [];
  const message = (body: unknown) => (body as { message: string }).message;

  it('sets the husband’s crisis reading on her cuff aside: out of her chart and billing days, its alert resolved, kept whole, not brought back by a re-send, and put back', async () => {
    const patientId = await enroll('Hattie Household');
    const cuff = await provision('blood_pressure', patientId);
    const yesterday = new Date(Date.now() - DAY_MS).toISOString();
    const now = new Date(Date.now() - 60_000).toISOString();
    expect((await post(cuff, { readingId: 'c-1', kind: 'blood_pressure', measuredAt: yesterday, unit: 'mmHg', systolic: 128, diastolic: 79, pulse: 70 })).status).toBe(200);
    // Her husband, on her cuff: a crisis value, held for a retake.
    expect((await post(cuff, { readingId: 'c-2', kind: 'blood_pressure', measuredAt: now, unit: 'mmHg', systolic: 186, diastolic: 104, pulse: 88 })).status).toBe(200);
    const alert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId })).items.find((a) => a.ruleId === 'bp-crisis'));
    expect(alert.status).toBe('awaiting_confirmation');
    expect((await readingsOf(patientId)).map((r) => r.readingId)).toEqual(['c-2', 'c-1']);
    const observations = async () => ((await app.request('GET', `/fhir/R4/Observation?patient=${patientId}&code=http://loinc.org|85354-9`, { token: nurse })).body as { entry?: unknown[] }).entry?.length ?? 0;
    expect(await observations()).toBe(2);
    const datesBefore = await deviceDates(patientId);
    expect(datesBefore).toHaveLength(2);

    // Refused, each naming why; nothing is set aside.
    const path = `/v1/patients/${patientId}/set-aside-readings`;
    const body = { deviceId: cuff.id, readingId: 'c-2', measuredAt: now, reason: 'not_the_patient', note: 'Her husband used her cuff' };
    const otherTeam = (await app.clinicalStore.careTeams.create({ id: unique('team-other'), name: 'Other team' })).id;
    const refusals = [
      [await app.token('nurse', [otherTeam], 'nurse-other'), body, 403, `patient ${patientId} belongs to another care team`],
      [await app.token('patient', [], unique('patient-hattie'), patientId), body, 403, 'the patient role may not use this route'],
      [await app.token('billing', [app.teamId], 'billing-bo'), body, 403, 'the billing role may not use this route'],
      [nurse, { ...body, reason: 'spouse' }, 400, 'body/reason'],
      [nurse, { ...body, reason: 'other', note: ' ' }, 400, 'note: says why the reading is set aside when the reason is "other"'],
      [nurse, { ...body, note: 'x'.repeat(501) }, 400, 'body/note'],
      [nurse, { ...body, measuredAt: 'now' }, 400, 'body/measuredAt'],
      [nurse, { ...body, readingId: 'c-9' }, 404, `the patient has no reading c-9 of device ${cuff.id} measured at ${now}`],
      [nurse, { ...body, measuredAt: yesterday }, 404, 'the patient has no reading c-2'],
    ] as const;
    for (const [token, refusedBody, status, text] of refusals) {
      const refused = await app.request('POST', path, { token, body: refusedBody });
      expect([status, refused.status, message(refused.body)]).toEqual([status, status, expect.stringContaining(text)]);
    }
    expect((await readingsOf(patientId)).map((r) => r.readingId)).toEqual(['c-2', 'c-1']);

    const setAside = await app.request('POST', path, { token: nurse, body });
    expect(setAside).toMatchObject({
      status: 201,
      body: {
        setAside: { deviceId: cuff.id, readingId: 'c-2', measuredAt: now, reason: 'not_the_patient', note: 'Her husband used her cuff', setAsideBy: 'nurse-ivy', restoredAt: null, reading: { readingId: 'c-2', systolic: 186, diastolic: 104, unit: 'mmHg' } },
        resolvedAlerts: 1,
        ehr: { withdrawn: 0, retracting: 0 },
        moved: null,
      },
    });
    const record = (setAside.body as Answer).setAside;

    // Out of her chart, her latest and her billing days; the crisis alert resolved with the reason, announced.
    expect((await readingsOf(patientId)).map((r) => r.readingId)).toEqual(['c-1']);
    expect(((await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).body as { lastReadings: Reading[] }).lastReadings.map((r) => r.readingId)).toEqual(['c-1']);
    expect(await deviceDates(patientId)).toEqual(datesBefore.filter((date) => date !== datesBefore.at(-1)));
    expect(await observations()).toBe(1);
    const resolved = await app.clinicalStore.alerts.require(alert.id);
    expect(resolved).toMatchObject({ status: 'resolved', resolvedBy: 'nurse-ivy' });
    const events = ((await app.request('GET', `/v1/alerts/${alert.id}/events`, { token: nurse })).body as { events: { type: string; note: string | null; details: unknown }[] }).events;
    expect(events.at(-1)).toEqual(expect.objectContaining({ type: 'resolved', note: 'Reading set aside: not the patient’s reading. Her husband used her cuff', details: { setAside: 'not_the_patient', readingId: 'c-2' } }));
    expect((await app.clinicalStore.deliveries.forAlert(alert.id)).filter((d) => d.event === 'resolved').map((d) => d.target)).toEqual([`rpm/v1/alerts/${app.teamId}`]);

    // Again (a retry): the same record, nothing more.
    const again = await app.request('POST', path, { token: nurse, body });
    expect(again).toMatchObject({ status: 200, body: { setAside: { id: record.id }, resolvedAlerts: 0 } });
    // The cuff sends it again (its store-and-forward): a duplicate, not back in her record.
    expect((await post(cuff, { readingId: 'c-2', kind: 'blood_pressure', measuredAt: now, unit: 'mmHg', systolic: 186, diastolic: 104, pulse: 88 })).body.receipts[0]!.status).toBe('duplicate');
    expect((await readingsOf(patientId)).map((r) => r.readingId)).toEqual(['c-1']);

    // Listed with the reading as it was, for the team (a physician too).
    const listed = await app.request('GET', path, { token: await app.token('physician', [app.teamId], 'dr-ivy') });
    expect(listed).toMatchObject({ status: 200, body: { setAsideReadings: [{ id: record.id, reason: 'not_the_patient', reading: { readingId: 'c-2', systolic: 186 }, restoredAt: null }] } });

    // Put back (set aside by mistake): in her chart and billing days again, not judged again; twice is a 409.
    const restore = `${path}/${record.id}/restore`;
    expect(await app.request('POST', `/v1/patients/${await enroll('Someone Else')}/set-aside-readings/${record.id}/restore`, { token: nurse })).toMatchObject({ status: 404 });
    expect(await app.request('POST', restore, { token: nurse })).toMatchObject({ status: 200, body: { setAside: { id: record.id, restoredBy: 'nurse-ivy', restoredAt: expect.any(String) }, ehr: { queued: 0 } } });
    expect((await readingsOf(patientId)).map((r) => r.readingId)).toEqual(['c-2', 'c-1']);
    expect(await deviceDates(patientId)).toEqual(datesBefore);
    expect(await observations()).toBe(2);
    expect((await app.clinicalStore.alerts.list({ patientId })).items.filter((a) => a.status !== 'resolved')).toEqual([]);
    expect(await app.request('POST', restore, { token: nurse })).toMatchObject({ status: 409, body: { message: expect.stringContaining('was put back on') } });

    // Every call audited, with the reading named and no value.
    const audit = (await app.clinicalStore.audit.list({ limit: 500 })).items.filter((r) => r.patientId === patientId && r.action.startsWith('reading.'));
    expect(audit.map((r) => [r.action, r.actor, r.outcome])).toEqual(
      expect.arrayContaining([
        ['reading.set_aside', 'nurse-ivy', 'allowed'],
        ['reading.set_aside.read', 'dr-ivy', 'allowed'],
        ['reading.restore', 'nurse-ivy', 'allowed'],
        ['reading.set_aside', 'nurse-other', 'denied'],
      ]),
    );
    expect(audit.find((r) => r.action === 'reading.set_aside' && r.outcome === 'allowed')?.resourceId).toBe(`${cuff.id}/c-2`);
  }, 30_000);

  it('moves her husband’s low glucose on her meter to his own record, where the rules judge it for him; refuses a patient the nurse may not see; takes it back out when it is put back', async () => {
    const hattie = await enroll('Hattie Shared');
    // Harold is a patient of another team; a nurse of both teams moves it.
    const teamB = (await app.clinicalStore.careTeams.create({ id: unique('team-harold'), name: 'Harold’s team' })).id;
    const both = await app.token('nurse', [app.teamId, teamB], 'nurse-both');
    const harold = ((await app.request('POST', '/v1/patients', { token: both, body: { name: 'Harold Shared', birthDate: '1940-02-02', timezone: 'America/Chicago', careTeamId: teamB, enrolledAt: new Date(Date.now() - 2 * DAY_MS).toISOString() } })).body as { id: string }).id;
    const meter = await provision('glucose', hattie);
    const his = new Date(Date.now() - 10 * 60_000).toISOString();
    expect((await post(meter, { readingId: 'g-his', kind: 'glucose', measuredAt: his, unit: 'mg/dL', value: 48, mealContext: 'fasting' })).status).toBe(200);
    const hersAlert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId: hattie })).items.find((a) => a.ruleId === 'glucose-level-2-hypoglycemia'));
    const path = `/v1/patients/${hattie}/set-aside-readings`;
    const body = { deviceId: meter.id, readingId: 'g-his', measuredAt: his, reason: 'not_the_patient', note: 'Her husband used her meter', movedTo: harold };

    // Refused, each naming why; nothing is moved nor set aside.
    const ended = await enroll('Edna Ended');
    await app.clinicalStore.patients.discharge(ended, { reason: 'goals_met', actor: 'test' });
    const refusals = [
      [both, { ...body, reason: 'device_fault' }, 400, 'body/movedTo: a reading is moved to another patient only when it is not this patient’s'],
      [both, { ...body, movedTo: hattie }, 400, 'body/movedTo: is the patient the reading is set aside from'],
      [nurse, body, 404, `body/movedTo: no patient ${harold} in your care teams`],
      [both, { ...body, movedTo: 'nobody' }, 404, 'body/movedTo: no patient nobody in your care teams'],
      [both, { ...body, movedTo: ended }, 409, `patient ${ended}`],
    ] as const;
    for (const [token, refusedBody, status, text] of refusals) {
      const refused = await app.request('POST', path, { token, body: refusedBody });
      expect([status, refused.status, message(refused.body)]).toEqual([status, status, expect.stringContaining(text)]);
    }
    expect((await readingsOf(hattie)).map((r) => r.readingId)).toEqual(['g-his']);
    expect(await readingsOf(harold, both)).toEqual([]);

    const moved = await app.request('POST', path, { token: both, body });
    const answer = moved.body as Answer;
    expect(moved.status).toBe(201);
    expect(answer).toMatchObject({ resolvedAlerts: 1, moved: { patientId: harold, readingId: expect.stringMatching(new RegExp(`^${harold}/moved-[0-9a-f]{40}$`)), status: 'accepted' } });
    expect(answer.setAside.movedTo).toEqual({ patientId: harold, readingId: answer.moved!.readingId, patientName: 'Harold Shared' });
    // In his record as a reading entered by the nurse, as the meter measured it, never a billing day;
    // out of hers, her alert resolved; the rules judged it for him.
    const inHis = await readingsOf(harold, both);
    expect(inHis).toEqual([expect.objectContaining({ readingId: answer.moved!.readingId, deviceId: 'reported', source: 'manual', enteredBy: 'nurse-both', value: 48, unit: 'mg/dL', mealContext: 'fasting', measuredAt: his })]);
    expect(await readingsOf(hattie)).toEqual([]);
    expect(await deviceDates(harold, both)).toEqual([]);
    expect((await app.clinicalStore.alerts.require(hersAlert.id)).status).toBe('resolved');
    const hisAlert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId: harold })).items.find((a) => a.ruleId === 'glucose-level-2-hypoglycemia'));
    expect(hisAlert.status).not.toBe('resolved');

    // Again (a retry): the same record, his copy once.
    expect(await app.request('POST', path, { token: both, body })).toMatchObject({ status: 200, body: { setAside: { id: answer.setAside.id } } });
    expect((await readingsOf(harold, both)).length).toBe(1);
    // Her team's nurse, who may not see him, reads that it was moved, not to whom.
    const listed = ((await app.request('GET', path, { token: nurse })).body as { setAsideReadings: SetAside[] }).setAsideReadings;
    expect(listed[0]!.movedTo).toEqual({ patientId: harold, readingId: answer.moved!.readingId, patientName: null });
    // The platform's keys are not a caller's.
    const taken = await app.request('POST', `/v1/patients/${harold}/readings`, { token: both, body: { key: 'moved-mine', kind: 'glucose', measuredAt: his, unit: 'mg/dL', value: 99 } });
    expect([taken.status, message(taken.body)]).toEqual([400, expect.stringContaining('body/key')]);

    // Put back (it was hers after all): out of his record first, his alert resolved, back in hers.
    expect((await app.request('POST', `${path}/${answer.setAside.id}/restore`, { token: both })).status).toBe(200);
    expect(await readingsOf(harold, both)).toEqual([]);
    expect((await readingsOf(hattie)).map((r) => r.readingId)).toEqual(['g-his']);
    const hisSetAside = ((await app.request('GET', `/v1/patients/${harold}/set-aside-readings`, { token: both })).body as { setAsideReadings: SetAside[] }).setAsideReadings;
    expect(hisSetAside).toEqual([expect.objectContaining({ deviceId: 'reported', readingId: answer.moved!.readingId, reason: 'entered_in_error', note: 'Put back in the record it was moved from', setAsideBy: 'nurse-both', movedTo: null })]);
    expect((await app.clinicalStore.alerts.require(hisAlert.id)).status).toBe('resolved');

    // Both records' changes audited, each with its own patient.
    const audit = (await app.clinicalStore.audit.list({ limit: 500 })).items.filter((r) => r.actor === 'nurse-both' && r.action.startsWith('reading.'));
    expect(audit.map((r) => [r.action, r.patientId]).filter(([action]) => action !== 'reading.set_aside.read')).toEqual(
      expect.arrayContaining([
        ['reading.set_aside', hattie],
        ['reading.move', harold],
        ['reading.restore', hattie],
        ['reading.move.undo', harold],
      ]),
    );
  }, 30_000);

  it('leaves open, with a note, a crisis alert her own retake confirmed when the first reading is set aside; notes it when that one is put back', async () => {
    const patientId = await enroll('Nell Noted');
    const cuff = await provision('blood_pressure', patientId);
    const first = new Date(Date.now() - 10 * 60_000).toISOString();
    const retake = new Date(Date.now() - 4 * 60_000).toISOString();
    // A crisis reading, held for a retake, and her retake six minutes later: crisis too, confirmed.
    expect((await post(cuff, { readingId: 'n-1', kind: 'blood_pressure', measuredAt: first, unit: 'mmHg', systolic: 188, diastolic: 106, pulse: 90 })).status).toBe(200);
    expect((await post(cuff, { readingId: 'n-2', kind: 'blood_pressure', measuredAt: retake, unit: 'mmHg', systolic: 182, diastolic: 101, pulse: 84 })).status).toBe(200);
    const alert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId })).items.find((a) => a.ruleId === 'bp-crisis' && a.readingCount === 2));
    expect(alert.status).toBe('open');
    const eventsOf = async () => ((await app.request('GET', `/v1/alerts/${alert.id}/events`, { token: nurse })).body as { events: { type: string; actor: string; note: string | null; details: unknown }[] }).events;
    const deliveriesBefore = (await app.clinicalStore.deliveries.forAlert(alert.id)).length;

    // The first was taken with the cuff over a sleeve: set aside. The alert stands on her retake
    // too, so it stays open, with a note saying which reading left it, for the nurse to judge.
    const path = `/v1/patients/${patientId}/set-aside-readings`;
    const set = await app.request('POST', path, { token: nurse, body: { deviceId: cuff.id, readingId: 'n-1', measuredAt: first, reason: 'device_fault', note: 'Cuff over a sleeve' } });
    expect(set).toMatchObject({ status: 201, body: { resolvedAlerts: 0, notedAlerts: 1 } });
    expect(await app.clinicalStore.alerts.require(alert.id)).toMatchObject({ status: 'open', resolvedAt: null });
    const measured = new Date(first).toLocaleString('en-US', { timeZone: 'America/Chicago', dateStyle: 'medium', timeStyle: 'short' });
    expect((await eventsOf()).at(-1)).toEqual(
      expect.objectContaining({
        type: 'note',
        actor: 'nurse-ivy',
        note: `A reading this alert counted was set aside (device fault. Cuff over a sleeve): blood pressure 188/106 mmHg, measured ${measured}. The alert counts other readings of the patient’s too: judge whether it still stands on them.`,
        details: { setAside: 'device_fault', readingId: 'n-1' },
      }),
    );
    // A note pages no one.
    expect(await app.clinicalStore.deliveries.forAlert(alert.id)).toHaveLength(deliveriesBefore);

    // Put back: the note says it is back; the alert stays as it was.
    const record = (set.body as Answer).setAside;
    const restored = await app.request('POST', `${path}/${record.id}/restore`, { token: nurse });
    expect(restored).toMatchObject({ status: 200, body: { notedAlerts: 1 } });
    expect((await eventsOf()).at(-1)).toEqual(
      expect.objectContaining({ type: 'note', note: `A reading set aside from this alert was put back in the patient’s record: blood pressure 188/106 mmHg, measured ${measured}. The alert counts it again.`, details: { restored: true, readingId: 'n-1' } }),
    );
    expect(await app.clinicalStore.alerts.require(alert.id)).toMatchObject({ status: 'open' });

    // Both set aside, one after the other: the first leaves a note, the second leaves the alert
    // standing for nothing, and resolves it.
    expect(await app.request('POST', path, { token: nurse, body: { deviceId: cuff.id, readingId: 'n-2', measuredAt: retake, reason: 'device_fault' } })).toMatchObject({ status: 201, body: { resolvedAlerts: 0, notedAlerts: 1 } });
    expect(await app.request('POST', path, { token: nurse, body: { deviceId: cuff.id, readingId: 'n-1', measuredAt: first, reason: 'device_fault' } })).toMatchObject({ status: 201, body: { resolvedAlerts: 1, notedAlerts: 0 } });
    expect(await app.clinicalStore.alerts.require(alert.id)).toMatchObject({ status: 'resolved', resolvedBy: 'nurse-ivy' });
    expect((await eventsOf()).map((event) => event.type).slice(-2)).toEqual(['note', 'resolved']);
  }, 30_000);

  it('sets aside a week of her husband’s readings on her cuff in one request, moved to his record: the crisis alert they raised resolved once; nothing changed by a refusal; a retry sets aside only what was left', async () => {
    const wanda = await enroll('Wanda Shared');
    const walter = await enroll('Walter Shared');
    const cuff = await provision('blood_pressure', wanda);
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const [own, his1, his2, his3] = [at(600), at(300), at(30), at(25)];
    // Hers, then his three: a raised one the day before, and a crisis reading with its retake that
    // confirmed the crisis alert for her.
    expect((await post(cuff, { readingId: 'w-own', kind: 'blood_pressure', measuredAt: own, unit: 'mmHg', systolic: 124, diastolic: 78 })).status).toBe(200);
    expect((await post(cuff, { readingId: 'w-h1', kind: 'blood_pressure', measuredAt: his1, unit: 'mmHg', systolic: 152, diastolic: 94 })).status).toBe(200);
    expect((await post(cuff, { readingId: 'w-h2', kind: 'blood_pressure', measuredAt: his2, unit: 'mmHg', systolic: 186, diastolic: 112 })).status).toBe(200);
    expect((await post(cuff, { readingId: 'w-h3', kind: 'blood_pressure', measuredAt: his3, unit: 'mmHg', systolic: 184, diastolic: 110 })).status).toBe(200);
    const alert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId: wanda })).items.find((a) => a.ruleId === 'bp-crisis' && a.readingCount === 2));
    expect(alert.status).toBe('open');
    // One she typed in herself: entered by hand, never moved.
    expect((await app.request('POST', `/v1/patients/${wanda}/readings`, { token: nurse, body: { key: 'typed', kind: 'blood_pressure', measuredAt: at(60), unit: 'mmHg', systolic: 130, diastolic: 80 } })).status).toBe(201);
    const typed = (await readingsOf(wanda)).find((r) => r.deviceId === 'reported')!;
    const his = [
      { deviceId: cuff.id, readingId: 'w-h1', measuredAt: his1 },
      { deviceId: cuff.id, readingId: 'w-h2', measuredAt: his2 },
      { deviceId: cuff.id, readingId: 'w-h3', measuredAt: his3 },
    ];
    const path = `/v1/patients/${wanda}/set-aside-readings/batch`;
    const body = { readings: his, reason: 'not_the_patient', note: 'Her husband, all week', movedTo: walter };

    // Refused, each naming the reading or the field; nothing set aside, nothing moved.
    const refusals = [
      [{ ...body, readings: [his[0], { ...his[1]!, readingId: 'w-none' }] }, 404, 'body/readings/1: the patient has no reading w-none'],
      [{ ...body, readings: [his[0], his[1], his[0]] }, 400, 'body/readings/2: names the same reading as body/readings/0'],
      [{ ...body, readings: [his[0], { deviceId: typed.deviceId, readingId: typed.readingId, measuredAt: typed.measuredAt }] }, 400, 'body/readings/1: a reading entered by hand is entered again for the other patient, not moved'],
      [{ ...body, reason: 'device_fault' }, 400, 'body/movedTo: a reading is moved to another patient only when it is not this patient’s'],
      [{ ...body, readings: [] }, 400, 'body/readings'],
      [{ ...body, readings: Array.from({ length: 101 }, (_, i) => ({ ...his[0]!, readingId: `r-${i}` })) }, 400, 'body/readings'],
    ] as const;
    for (const [refusedBody, status, text] of refusals) {
      const refused = await app.request('POST', path, { token: nurse, body: refusedBody });
      expect([status, refused.status, message(refused.body)]).toEqual([status, status, expect.stringContaining(text)]);
    }
    expect((await readingsOf(wanda)).map((r) => r.readingId).sort()).toEqual(['w-h1', 'w-h2', 'w-h3', 'w-own', typed.readingId].sort());
    expect(await readingsOf(walter)).toEqual([]);

    const done = await app.request('POST', path, { token: nurse, body });
    const answer = done.body as BatchAnswer;
    expect(done.status).toBe(201);
    expect(answer).toMatchObject({ created: 3, resolvedAlerts: 1, notedAlerts: 0 });
    expect(answer.setAside.map((record) => [record.readingId, record.reason, record.note, record.movedTo?.patientId])).toEqual(his.map((r) => [r.readingId, 'not_the_patient', 'Her husband, all week', walter]));
    expect(answer.moved).toEqual(his.map(() => ({ patientId: walter, readingId: expect.stringMatching(new RegExp(`^${walter}/moved-[0-9a-f]{40}$`)), status: 'accepted' })));
    // Out of her record, into his as readings entered by the nurse; her own two stay.
    expect((await readingsOf(wanda)).map((r) => r.readingId).sort()).toEqual(['w-own', typed.readingId].sort());
    expect((await readingsOf(walter)).map((r) => [r.source, r.enteredBy, r.measuredAt]).sort()).toEqual(his.map((r) => ['manual', 'nurse-ivy', r.measuredAt]).sort());
    // The alert is resolved once, naming the readings of the batch it counted.
    const events = ((await app.request('GET', `/v1/alerts/${alert.id}/events`, { token: nurse })).body as { events: { type: string; note: string | null; details: unknown }[] }).events;
    expect(events.filter((event) => event.type === 'resolved')).toEqual([
      expect.objectContaining({ note: '2 readings set aside: not the patient’s reading. Her husband, all week', details: { setAside: 'not_the_patient', readingId: 'w-h2', readingIds: ['w-h2', 'w-h3'] } }),
    ]);
    expect(events.filter((event) => event.type === 'note')).toEqual([]);

    // The whole batch again (a retry after a lost answer) with one more of his: only that one is new.
    const own1 = { deviceId: cuff.id, readingId: 'w-own', measuredAt: own };
    const again = await app.request('POST', path, { token: nurse, body: { ...body, readings: [...his, own1] } });
    expect(again).toMatchObject({ status: 201, body: { created: 1, resolvedAlerts: 0, moved: [{ patientId: walter, status: 'accepted' }] } });
    expect((again.body as BatchAnswer).setAside.slice(0, 3).map((record) => record.id)).toEqual(answer.setAside.map((record) => record.id));
    expect(await app.request('POST', path, { token: nurse, body: { ...body, readings: [...his, own1] } })).toMatchObject({ status: 200, body: { created: 0, moved: [] } });
    expect((await readingsOf(walter)).length).toBe(4);

    // Each reading set aside has its audit record in her record; each move one in his (the refusals
    // have theirs too, not allowed).
    const audit = (await app.clinicalStore.audit.list({ limit: 500 })).items.filter((r) => r.actor === 'nurse-ivy' && r.outcome === 'allowed' && (r.patientId === wanda || r.patientId === walter));
    // (each request's own record names its first reading: w-h1 three times)
    expect([...new Set(audit.filter((r) => r.action === 'reading.set_aside' && r.patientId === wanda).map((r) => r.resourceId))].sort()).toEqual([...his, own1].map((r) => `${cuff.id}/${r.readingId}`).sort());
    expect(audit.filter((r) => r.action === 'reading.move' && r.patientId === walter)).toHaveLength(4);
  }, 30_000);

  it('leaves one note, naming both, on a crisis alert of hers that two readings of her husband’s counted too', async () => {
    const patientId = await enroll('Nora Noted');
    const cuff = await provision('blood_pressure', patientId);
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const [hers, his1, his2] = [at(20), at(14), at(8)];
    expect((await post(cuff, { readingId: 'nn-1', kind: 'blood_pressure', measuredAt: hers, unit: 'mmHg', systolic: 188, diastolic: 106 })).status).toBe(200);
    expect((await post(cuff, { readingId: 'nn-2', kind: 'blood_pressure', measuredAt: his1, unit: 'mmHg', systolic: 186, diastolic: 110 })).status).toBe(200);
    expect((await post(cuff, { readingId: 'nn-3', kind: 'blood_pressure', measuredAt: his2, unit: 'mmHg', systolic: 190, diastolic: 112 })).status).toBe(200);
    const alert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId })).items.find((a) => a.ruleId === 'bp-crisis' && a.readingCount === 3));
    const set = await app.request('POST', `/v1/patients/${patientId}/set-aside-readings/batch`, {
      token: nurse,
      body: { readings: [{ deviceId: cuff.id, readingId: 'nn-2', measuredAt: his1 }, { deviceId: cuff.id, readingId: 'nn-3', measuredAt: his2 }], reason: 'not_the_patient' },
    });
    expect(set).toMatchObject({ status: 201, body: { created: 2, resolvedAlerts: 0, notedAlerts: 1, moved: [] } });
    expect(await app.clinicalStore.alerts.require(alert.id)).toMatchObject({ status: 'open' });
    const measured = (iso: string) => new Date(iso).toLocaleString('en-US', { timeZone: 'America/Chicago', dateStyle: 'medium', timeStyle: 'short' });
    const notes = ((await app.request('GET', `/v1/alerts/${alert.id}/events`, { token: nurse })).body as { events: { type: string; note: string | null; details: unknown }[] }).events.filter((event) => event.type === 'note');
    expect(notes).toEqual([
      expect.objectContaining({
        note: `2 readings this alert counted were set aside (not the patient’s reading): blood pressure 186/110 mmHg, measured ${measured(his1)}; blood pressure 190/112 mmHg, measured ${measured(his2)}. The alert counts other readings of the patient’s too: judge whether it still stands on them.`,
        details: { setAside: 'not_the_patient', readingId: 'nn-2', readingIds: ['nn-2', 'nn-3'] },
      }),
    ]);
  }, 30_000);

  it('rebuilds the rules’ state without her husband’s glucose: her next reading is judged after her own', async () => {
    const patientId = await enroll('Gloria Gluco');
    const meter = await provision('glucose', patientId);
    const measure = (readingId: string, atMs: number, value: number) => post(meter, { readingId, kind: 'glucose', measuredAt: new Date(atMs).toISOString(), unit: 'mg/dL', value });
    expect((await measure('g-1', Date.now() - 20 * HOUR_MS, 118)).status).toBe(200);
    // Her husband on her meter: 276 mg/dL (above 250, below the 300 of an alert on its own).
    const husbands = new Date(Date.now() - 2 * HOUR_MS).toISOString();
    expect((await measure('g-2', Date.parse(husbands), 276)).status).toBe(200);
    const set = await app.request('POST', `/v1/patients/${patientId}/set-aside-readings`, { token: nurse, body: { deviceId: meter.id, readingId: 'g-2', measuredAt: husbands, reason: 'not_the_patient' } });
    expect(set).toMatchObject({ status: 201, body: { resolvedAlerts: 0 } });
    // Her own 262 after a big lunch: one reading above 250 after her 118. Judged after his 276, it
    // would be the second consecutive one above 250 (glucose-high-consecutive).
    expect((await measure('g-3', Date.now() - 60_000, 262)).status).toBe(200);
    // Another patient's two, judged after hers: the rules have judged hers by the time his alert is there.
    const other = await enroll('Otto Other');
    const otherMeter = await provision('glucose', other);
    for (const [readingId, ago, value] of [['o-1', 2 * HOUR_MS, 270], ['o-2', 60_000, 265]] as const) await post(otherMeter, { readingId, kind: 'glucose', measuredAt: new Date(Date.now() - ago).toISOString(), unit: 'mg/dL', value });
    await eventually(async () => (await app.clinicalStore.alerts.list({ patientId: other })).items.find((a) => a.ruleId === 'glucose-high-consecutive'));
    expect((await app.clinicalStore.alerts.list({ patientId })).items.map((a) => a.ruleId)).toEqual([]);
  }, 30_000);
}

describe('readings set aside, SQLite clinical store', () => setAsideSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('readings set aside, PostgreSQL clinical store', () => setAsideSuite('postgres'));
