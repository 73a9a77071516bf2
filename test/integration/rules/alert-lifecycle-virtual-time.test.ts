// Claim and snooze in virtual time (issue #23 items 1 and 3): the alert manager on a real SQLite
// clinical store, its clock a variable the test moves, escalation checked when the test says so.
// Every change it makes is also checked to be announced under the name and id the store keeps.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AlertManager, AlertNotifier, type AlertChange, type AlertSignal } from '../../../rules/index.js';
import { ClinicalStore, type Alert } from '../../../store/index.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-03T10:00:00Z');
let nowMs = T0;
let store: ClinicalStore;
let manager: AlertManager;
const announced: AlertChange[] = [];
let teamId: string;

beforeAll(async () => {
  store = await ClinicalStore.open({ dialect: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'rpm-lifecycle-')), 'clinical.sqlite') });
  teamId = (await store.careTeams.create({ id: 'pulmonology', name: 'Pulmonology' })).id;
  const logger = pino({ level: 'silent' });
  // The notifier is not started: deliveries stay queued; what is announced is what the feed carries.
  const notifier = new AlertNotifier({ clinicalStore: store, publisher: { publish: async () => undefined }, logger });
  notifier.feed$.subscribe((change) => announced.push(change));
  manager = new AlertManager({ clinicalStore: store, notifier, retakes: { requestRetake: () => undefined }, logger, now: () => nowMs });
});
afterAll(async () => store?.close());

async function lowSpo2(value: number, severity: 'high' | 'critical' = 'high'): Promise<{ patientId: string; signal: (v: number, s?: 'high' | 'critical') => AlertSignal }> {
  const patient = await store.patients.create({ name: 'Test Patient', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamId });
  let n = 0;
  const signal = (v: number, s: 'high' | 'critical' = 'high'): AlertSignal => ({
    type: 'abnormal',
    patientId: patient.id,
    ruleId: 'spo2-low',
    severity: s,
    episode: 'each',
    late: false,
    reading: { deviceId: 'oximeter', readingId: `r${(n += 1)}`, kind: 'spo2', measuredAtMs: nowMs, values: { value: v }, flags: {} },
    score: (90 - v) / 90,
    summary: `spo2 ${v} %`,
  });
  await manager.handle(signal(value, severity));
  return { patientId: patient.id, signal };
}

const alertOf = async (patientId: string): Promise<Alert> => (await store.alerts.list({ patientId })).items[0]!;
const eventsOf = async (alertId: string) => (await store.alerts.events(alertId)).map((e) => e.name);

describe('claim and snooze in virtual time', () => {
  it('a claimed alert still escalates on time: taking it is not acknowledging it', async () => {
    nowMs = T0;
    const { patientId } = await lowSpo2(87);
    const opened = await alertOf(patientId);
    expect(opened).toMatchObject({ status: 'open', escalationTier: 0, nextEscalationAt: new Date(T0 + 60 * MINUTE).toISOString() });
    nowMs = T0 + 5 * MINUTE;
    await store.alerts.claim(opened.id, { actor: 'nurse-1', at: new Date(nowMs).toISOString() });
    nowMs = T0 + 59 * MINUTE;
    await manager.escalateDue();
    expect((await alertOf(patientId)).escalationTier).toBe(0);
    nowMs = T0 + 60 * MINUTE;
    await manager.escalateDue();
    expect(await alertOf(patientId)).toMatchObject({ escalationTier: 1, claimedBy: 'nurse-1' });
    expect(await eventsOf(opened.id)).toEqual(['opened', 'claimed', 'escalated']);
  });

  it('a snooze holds the next tier until it ends, ends as an event, then escalation goes on', async () => {
    nowMs = T0;
    const { patientId } = await lowSpo2(88);
    const alert = await alertOf(patientId);
    nowMs = T0 + 10 * MINUTE;
    await store.alerts.snooze(alert.id, { actor: 'nurse-1', until: new Date(T0 + 90 * MINUTE).toISOString(), at: new Date(nowMs).toISOString() });
    nowMs = T0 + 61 * MINUTE;
    await manager.escalateDue();
    expect(await alertOf(patientId)).toMatchObject({ escalationTier: 0, snoozedUntil: new Date(T0 + 90 * MINUTE).toISOString() });
    nowMs = T0 + 90 * MINUTE;
    await manager.escalateDue();
    expect(await alertOf(patientId)).toMatchObject({ escalationTier: 1, snoozedUntil: null });
    expect(await eventsOf(alert.id)).toEqual(['opened', 'snoozed', 'snooze_ended', 'escalated']);
    // Announced as stored: the same names, and each with the id of its own event (the snooze itself
    // was made on the store here; the API announces it when a person makes it).
    const stored = await store.alerts.events(alert.id);
    const mine = announced.filter((change) => change.alert.id === alert.id);
    expect(mine.map((change) => [change.event, change.eventId])).toEqual(stored.filter((e) => e.name !== 'snoozed').map((e) => [e.name, e.id]));
  });

  it('a worse reading ends the snooze at once and the next tier is due now', async () => {
    nowMs = T0;
    const { patientId, signal } = await lowSpo2(88);
    const alert = await alertOf(patientId);
    await store.alerts.snooze(alert.id, { actor: 'nurse-1', until: new Date(T0 + 60 * MINUTE).toISOString(), at: new Date(nowMs).toISOString() });
    nowMs = T0 + 20 * MINUTE;
    // Same rule, more severe (a physician's override made this patient's lowest values critical).
    await manager.handle(signal(80, 'critical'));
    const after = await alertOf(patientId);
    expect(after).toMatchObject({ severity: 'critical', snoozedUntil: null, nextEscalationAt: new Date(nowMs).toISOString() });
    const ended = (await store.alerts.events(alert.id)).find((e) => e.name === 'snooze_ended');
    expect(ended?.details).toMatchObject({ reason: 'a critical reading: spo2 80 %' });
    await manager.escalateDue();
    expect((await alertOf(patientId)).escalationTier).toBe(1);
  });
});
