// Every route × every role × own or other care team, against the real application over HTTP.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Role } from '../../../dashboard-api/index.js';
import { DEFAULT_THROTTLE_LIMITS, FailureThrottle, FreshReads } from '../../../store/index.js';
import { absoluteFormRequest, startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { recordFaultSummary } from '../../support/fault-summary.js';
import { unique } from '../../support/ingest-harness.js';
import { readingAt } from '../../support/readings-stores.js';

let app: ApiHarness;
let teamA: string;
let teamB: string;
let patientA: string;
let patientA2: string;
let submissionTries = 0;

type Caller = 'admin' | 'nurseA' | 'physicianA' | 'billingA' | 'nurseB' | 'physicianB' | 'patientA' | 'patientA2';
/** patientA is the person whose record is patient A; patientA2 another patient of the same team. */
const CALLERS: Record<Caller, { role: Role; team: 'A' | 'B' }> = {
  admin: { role: 'admin', team: 'A' },
  nurseA: { role: 'nurse', team: 'A' },
  physicianA: { role: 'physician', team: 'A' },
  billingA: { role: 'billing', team: 'A' },
  nurseB: { role: 'nurse', team: 'B' },
  physicianB: { role: 'physician', team: 'B' },
  patientA: { role: 'patient', team: 'A' },
  patientA2: { role: 'patient', team: 'A' },
};
const tokens = {} as Record<Caller, string>;

beforeAll(async () => {
  // Every route is also tried without a token and with a forged one from this one address: more
  // failures than the default throttle allows a minute (tested on its own in auth-hardening).
  app = await startApiHarness({ authThrottle: new FailureThrottle({ ...DEFAULT_THROTTLE_LIMITS, perAddress: 1_000, perIdentity: 1_000 }) });
  teamA = app.teamId;
  teamB = (await app.clinicalStore.careTeams.create({ id: unique('team-b'), name: 'Team B' })).id;
  patientA = (await app.clinicalStore.patients.create({ name: 'Patient A', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA, enrolledAt: '2026-01-01T00:00:00Z' })).id;
  patientA2 = (await app.clinicalStore.patients.create({ name: 'Patient A2', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA })).id;
  for (const [name, caller] of Object.entries(CALLERS) as [Caller, (typeof CALLERS)[Caller]][]) {
    if (caller.role === 'patient') tokens[name] = await app.token('patient', [], name, name === 'patientA' ? patientA : patientA2);
    else tokens[name] = await app.token(caller.role, caller.role === 'admin' ? [] : [caller.team === 'A' ? teamA : teamB], name);
  }
});
afterAll(async () => app?.stopAll());

interface Case {
  route: string;
  /** Builds a fresh request (mutating routes get fresh resources per caller). */
  prepare(): Promise<{ method: string; path: string; body?: unknown }>;
  /** A patient caller not named gets 403: a patient sees only their own data. */
  expected: Record<Exclude<Caller, 'patientA' | 'patientA2'>, number> & Partial<Record<'patientA' | 'patientA2', number>>;
}

const freshAlert = async () =>
  (await app.clinicalStore.alerts.open({ patientId: patientA, ruleId: unique('rule'), severity: 'high', summary: 'test', actor: 'test' })).id;
const freshUser = async () => (await app.clinicalStore.users.create({ id: unique('user'), name: 'U', role: 'nurse', careTeams: [teamA] }, 'test')).user.id;
const freshSession = async () => (await app.clinicalStore.sessions.create({ userId: await freshUser(), authMethod: 'password' }, { idleMs: 60_000, maxMs: 3_600_000 })).session.id;
const everyone = { admin: 200, nurseA: 200, physicianA: 200, billingA: 200, nurseB: 200, physicianB: 200 };
const everyone204 = { admin: 204, nurseA: 204, physicianA: 204, billingA: 204, nurseB: 204, physicianB: 204 };
const freshDevice = async () => (await app.clinicalStore.devices.provision({ id: unique('cuff'), kind: 'blood_pressure' })).device.id;

const clinicalOwnOnly = { admin: 200, nurseA: 200, physicianA: 200, billingA: 403, nurseB: 403, physicianB: 403 };
const clinicalAll = { admin: 200, nurseA: 200, physicianA: 200, billingA: 403, nurseB: 200, physicianB: 200 };
const adminOnly = { admin: 200, nurseA: 403, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 };

const CASES: Case[] = [
  { route: 'POST /v1/care-teams', prepare: async () => ({ method: 'POST', path: '/v1/care-teams', body: { name: 'New team' } }), expected: { ...adminOnly, admin: 201 } },
  { route: 'GET /v1/care-teams/:id', prepare: async () => ({ method: 'GET', path: `/v1/care-teams/${teamA}` }), expected: { admin: 200, nurseA: 200, physicianA: 200, billingA: 403, nurseB: 404, physicianB: 404 } },
  {
    route: 'PATCH /v1/care-teams/:id',
    prepare: async () => ({ method: 'PATCH', path: `/v1/care-teams/${(await app.clinicalStore.careTeams.create({ name: 'Fresh' })).id}`, body: { escalation: { tiers: { low: [{ afterMinutes: 0, notify: 'care_team_nurses' }] } } } }),
    expected: adminOnly,
  },
  // A public address by number: no name to resolve on a closed network (the test route's send fails there, answered 200 all the same).
  { route: 'POST /v1/care-teams/:id/webhooks', prepare: async () => ({ method: 'POST', path: `/v1/care-teams/${(await app.clinicalStore.careTeams.create({ name: 'Fresh' })).id}/webhooks`, body: { url: 'https://93.184.216.34/hook' } }), expected: { ...adminOnly, admin: 201 } },
  {
    route: 'DELETE /v1/care-teams/:id/webhooks',
    prepare: async () => {
      const { id } = await app.clinicalStore.careTeams.create({ name: 'Fresh', escalationPolicy: { webhooks: [{ url: 'https://93.184.216.34/hook', secret: 'a-secret-of-at-least-16' }] } });
      return { method: 'DELETE', path: `/v1/care-teams/${id}/webhooks?url=${encodeURIComponent('https://93.184.216.34/hook')}` };
    },
    expected: { ...adminOnly, admin: 204 },
  },
  {
    route: 'POST /v1/care-teams/:id/webhooks/test',
    prepare: async () => {
      const { id } = await app.clinicalStore.careTeams.create({ name: 'Fresh', escalationPolicy: { webhooks: [{ url: 'https://93.184.216.34/hook', secret: 'a-secret-of-at-least-16' }] } });
      return { method: 'POST', path: `/v1/care-teams/${id}/webhooks/test`, body: { url: 'https://93.184.216.34/hook' } };
    },
    expected: adminOnly,
  },
  {
    route: 'POST /v1/care-teams/:id/webhooks/rotate',
    prepare: async () => {
      const { id } = await app.clinicalStore.careTeams.create({ name: 'Fresh', escalationPolicy: { webhooks: [{ url: 'https://93.184.216.34/hook', secret: 'a-secret-of-at-least-16' }] } });
      return { method: 'POST', path: `/v1/care-teams/${id}/webhooks/rotate`, body: { url: 'https://93.184.216.34/hook' } };
    },
    expected: adminOnly,
  },
  {
    route: 'GET /v1/care-teams/:id/webhooks/deliveries',
    prepare: async () => {
      const { id } = await app.clinicalStore.careTeams.create({ name: 'Fresh', escalationPolicy: { webhooks: [{ url: 'https://93.184.216.34/hook', secret: 'a-secret-of-at-least-16' }] } });
      return { method: 'GET', path: `/v1/care-teams/${id}/webhooks/deliveries?url=${encodeURIComponent('https://93.184.216.34/hook')}` };
    },
    expected: adminOnly,
  },
  { route: 'GET /v1/care-teams', prepare: async () => ({ method: 'GET', path: '/v1/care-teams' }), expected: { admin: 200, nurseA: 200, physicianA: 200, billingA: 200, nurseB: 200, physicianB: 200 } },
  {
    route: 'POST /v1/patients',
    prepare: async () => ({ method: 'POST', path: '/v1/patients', body: { name: 'New', birthDate: '1960-05-05', timezone: 'America/Chicago', careTeamId: teamA } }),
    expected: { admin: 201, nurseA: 201, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 },
  },
  { route: 'GET /v1/patients', prepare: async () => ({ method: 'GET', path: '/v1/patients' }), expected: clinicalAll },
  { route: 'GET /v1/patients/:id', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'GET /v1/patients/:id/readings', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/readings` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'GET /v1/patients/:id/cgm-summary', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/cgm-summary` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'GET /v1/patients/:id/cgm-report', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/cgm-report` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'GET /v1/patients/:id/thresholds', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/thresholds` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  {
    route: 'PUT /v1/patients/:id/thresholds',
    prepare: async () => ({ method: 'PUT', path: `/v1/patients/${patientA}/thresholds`, body: { rules: { fever: { enabled: true } } } }),
    expected: { admin: 200, nurseA: 403, physicianA: 200, billingA: 403, nurseB: 403, physicianB: 403 },
  },
  {
    route: 'POST /v1/patients/:id/time-entries',
    prepare: async () => ({ method: 'POST', path: `/v1/patients/${patientA}/time-entries`, body: { minutes: 12, performedAt: new Date(Date.now() - 60_000).toISOString(), interactive: true } }),
    expected: { admin: 201, nurseA: 201, physicianA: 201, billingA: 403, nurseB: 403, physicianB: 403 },
  },
  { route: 'GET /v1/patients/:id/billing-progress', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/billing-progress` }), expected: clinicalOwnOnly },
  { route: 'POST /v1/devices', prepare: async () => ({ method: 'POST', path: '/v1/devices', body: { id: unique('dev'), kind: 'glucose' } }), expected: { ...adminOnly, admin: 201 } },
  { route: 'GET /v1/devices', prepare: async () => ({ method: 'GET', path: '/v1/devices' }), expected: { admin: 200, nurseA: 200, physicianA: 403, billingA: 403, nurseB: 200, physicianB: 403 } },
  {
    route: 'PUT /v1/devices/:id/assignment',
    prepare: async () => ({ method: 'PUT', path: `/v1/devices/${await freshDevice()}/assignment`, body: { patientId: patientA } }),
    expected: { admin: 200, nurseA: 200, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 },
  },
  {
    route: 'GET /v1/devices/:id/assignment',
    prepare: async () => {
      const device = await freshDevice();
      await app.clinicalStore.devices.assign(device, patientA, { at: '2026-01-01T00:00:00Z', by: 'test' });
      return { method: 'GET', path: `/v1/devices/${device}/assignment` };
    },
    // Another team's nurse is told the device does not exist, as the device list leaves it out.
    expected: { admin: 200, nurseA: 200, physicianA: 403, billingA: 403, nurseB: 404, physicianB: 403 },
  },
  { route: 'GET /v1/unassigned-readings', prepare: async () => ({ method: 'GET', path: '/v1/unassigned-readings' }), expected: { admin: 200, nurseA: 200, physicianA: 403, billingA: 403, nurseB: 200, physicianB: 403 } },
  { route: 'GET /v1/alerts', prepare: async () => ({ method: 'GET', path: '/v1/alerts' }), expected: { ...clinicalAll, patientA: 200, patientA2: 200 } },
  { route: 'GET /v1/alerts?patientId= (another patient)', prepare: async () => ({ method: 'GET', path: `/v1/alerts?patientId=${patientA}` }), expected: { ...clinicalAll, patientA: 200, patientA2: 403 } },
  { route: 'POST /v1/alerts/:id/ack', prepare: async () => ({ method: 'POST', path: `/v1/alerts/${await freshAlert()}/ack`, body: { note: 'called' } }), expected: clinicalOwnOnly },
  { route: 'POST /v1/alerts/:id/resolve', prepare: async () => ({ method: 'POST', path: `/v1/alerts/${await freshAlert()}/resolve` , body: {} }), expected: clinicalOwnOnly },
  { route: 'POST /v1/alerts/:id/claim', prepare: async () => ({ method: 'POST', path: `/v1/alerts/${await freshAlert()}/claim`, body: {} }), expected: clinicalOwnOnly },
  { route: 'POST /v1/alerts/:id/snooze', prepare: async () => ({ method: 'POST', path: `/v1/alerts/${await freshAlert()}/snooze`, body: { minutes: 10 } }), expected: clinicalOwnOnly },
  { route: 'GET /v1/alerts/:id', prepare: async () => ({ method: 'GET', path: `/v1/alerts/${await freshAlert()}` }), expected: clinicalOwnOnly },
  { route: 'GET /v1/alerts/:id/events', prepare: async () => ({ method: 'GET', path: `/v1/alerts/${await freshAlert()}/events` }), expected: clinicalOwnOnly },
  { route: 'GET /v1/triage', prepare: async () => ({ method: 'GET', path: '/v1/triage' }), expected: clinicalAll },
  { route: 'GET /v1/dead-letters', prepare: async () => ({ method: 'GET', path: '/v1/dead-letters' }), expected: adminOnly },
  { route: 'GET /v1/audit', prepare: async () => ({ method: 'GET', path: '/v1/audit' }), expected: adminOnly },
  { route: 'GET /v1/notifications', prepare: async () => ({ method: 'GET', path: '/v1/notifications' }), expected: adminOnly },
  { route: 'POST /v1/users', prepare: async () => ({ method: 'POST', path: '/v1/users', body: { id: unique('u'), name: 'U', role: 'nurse', careTeams: [teamA] } }), expected: { ...adminOnly, admin: 201 } },
  { route: 'GET /v1/users', prepare: async () => ({ method: 'GET', path: '/v1/users' }), expected: adminOnly },
  { route: 'PATCH /v1/users/:id', prepare: async () => ({ method: 'PATCH', path: `/v1/users/${await freshUser()}`, body: { name: 'Renamed' } }), expected: adminOnly },
  { route: 'POST /v1/users/:id/password-reset', prepare: async () => ({ method: 'POST', path: `/v1/users/${await freshUser()}/password-reset` }), expected: adminOnly },
  { route: 'GET /v1/users/:id/sessions', prepare: async () => ({ method: 'GET', path: `/v1/users/${await freshUser()}/sessions` }), expected: adminOnly },
  { route: 'DELETE /v1/sessions/:id', prepare: async () => ({ method: 'DELETE', path: `/v1/sessions/${await freshSession()}` }), expected: adminOnly },
  { route: 'GET /v1/me', prepare: async () => ({ method: 'GET', path: '/v1/me' }), expected: { ...everyone, patientA: 200, patientA2: 200 } },
  { route: 'DELETE /v1/sessions/current', prepare: async () => ({ method: 'DELETE', path: '/v1/sessions/current' }), expected: { ...everyone204, patientA: 204, patientA2: 204 } },
  { route: 'GET /v1/billing/rpm', prepare: async () => ({ method: 'GET', path: '/v1/billing/rpm?month=2026-11' }), expected: { admin: 200, nurseA: 403, physicianA: 403, billingA: 200, nurseB: 403, physicianB: 403 } },
  { route: 'PUT /v1/care-teams/:id/fhir-endpoint', prepare: async () => ({ method: 'PUT', path: `/v1/care-teams/${teamA}/fhir-endpoint`, body: { baseUrl: 'https://ehr.example.org/fhir', auth: { type: 'bearer', token: 'secret' } } }), expected: adminOnly },
  { route: 'GET /v1/care-teams/:id/fhir-endpoint', prepare: async () => (await withEndpoint(teamA), { method: 'GET', path: `/v1/care-teams/${teamA}/fhir-endpoint` }), expected: clinicalOwnOnly },
  { route: 'POST /v1/care-teams/:id/fhir-endpoint/orders-read', prepare: async () => (await withEndpoint(teamA), { method: 'POST', path: `/v1/care-teams/${teamA}/fhir-endpoint/orders-read` }), expected: { ...clinicalOwnOnly, admin: 202, nurseA: 202, physicianA: 202 } },
  { route: 'DELETE /v1/care-teams/:id/fhir-endpoint', prepare: async () => ({ method: 'DELETE', path: `/v1/care-teams/${await withEndpoint((await app.clinicalStore.careTeams.create({ name: 'Fresh' })).id)}/fhir-endpoint` }), expected: { ...adminOnly, admin: 204 } },
  { route: 'GET /v1/fhir-deliveries', prepare: async () => ({ method: 'GET', path: '/v1/fhir-deliveries' }), expected: clinicalAll },
  // A clinician asking for another team's submissions is refused; their own (or all they see) are answered.
  // Each try asks for a period of its own (a period asked for again is answered 200 with the first).
  { route: 'POST /v1/patients/:id/cgm-summary/submissions', prepare: async () => (await withEndpoint(teamA), { method: 'POST', path: `/v1/patients/${patientA}/cgm-summary/submissions`, body: { start: new Date(Date.now() - (2 + (submissionTries += 1)) * 86_400_000).toISOString().slice(0, 10) } }), expected: { ...clinicalOwnOnly, admin: 202, nurseA: 202, physicianA: 202 } },
  { route: 'GET /v1/fhir-cgm-submissions', prepare: async () => ({ method: 'GET', path: `/v1/fhir-cgm-submissions?careTeamId=${teamA}` }), expected: clinicalOwnOnly },
  { route: 'GET /v1/fhir-cgm-orders', prepare: async () => ({ method: 'GET', path: `/v1/fhir-cgm-orders?careTeamId=${teamA}` }), expected: clinicalOwnOnly },
  { route: 'GET /v1/billing-progress', prepare: async () => ({ method: 'GET', path: `/v1/billing-progress?careTeamId=${teamA}` }), expected: clinicalOwnOnly },
  { route: 'GET /v1/cgm-population', prepare: async () => ({ method: 'GET', path: `/v1/cgm-population?careTeamId=${teamA}` }), expected: clinicalOwnOnly },
  // The patient channel's check-ins, templates and gateway (issue #26).
  { route: 'GET /v1/questionnaires', prepare: async () => ({ method: 'GET', path: '/v1/questionnaires' }), expected: { ...clinicalAll, patientA: 200, patientA2: 200 } },
  { route: 'GET /v1/patients/:id/check-in-plan', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/check-in-plan` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'PUT /v1/patients/:id/check-in-plan', prepare: async () => ({ method: 'PUT', path: `/v1/patients/${patientA}/check-in-plan`, body: { questionnaireId: 'general-wellbeing', times: ['09:00'] } }), expected: clinicalOwnOnly },
  { route: 'GET /v1/patients/:id/check-ins', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/check-ins` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  {
    route: 'POST /v1/patients/:id/check-ins',
    prepare: async () => ({ method: 'POST', path: `/v1/patients/${patientA}/check-ins`, body: { questionnaireId: 'general-wellbeing', answers: { wellbeing: 'good', medicines: 'all', wants_call: 'no' } } }),
    expected: { admin: 201, nurseA: 201, physicianA: 201, billingA: 403, nurseB: 403, physicianB: 403, patientA: 201 },
  },
  {
    route: 'POST /v1/patients/:id/readings',
    prepare: async () => ({ method: 'POST', path: `/v1/patients/${patientA}/readings`, body: { key: unique('entry'), kind: 'weight', measuredAt: new Date(Date.now() - 60_000).toISOString(), unit: 'kg', value: 80.2 } }),
    expected: { admin: 201, nurseA: 201, physicianA: 201, billingA: 403, nurseB: 403, physicianB: 403, patientA: 201 },
  },
  { route: 'PATCH /v1/patients/:id', prepare: async () => ({ method: 'PATCH', path: `/v1/patients/${patientA}`, body: { language: 'en' } }), expected: { admin: 200, nurseA: 200, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 } },
  // A fresh patient of team A moved to team B: only an admin sees both teams here (a nurse of both is tested in care-team-moves).
  { route: 'POST /v1/patients/:id/care-team-moves', prepare: async () => ({ method: 'POST', path: `/v1/patients/${(await app.clinicalStore.patients.create({ name: 'Mover', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA })).id}/care-team-moves`, body: { careTeamId: teamB, reason: 'moved house' } }), expected: { admin: 201, nurseA: 403, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 } },
  { route: 'GET /v1/patients/:id/care-team-moves', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/care-team-moves` }), expected: clinicalOwnOnly },
  // A fresh patient of team A each try: discharged, then (another) resumed.
  { route: 'POST /v1/patients/:id/discharge', prepare: async () => ({ method: 'POST', path: `/v1/patients/${(await app.clinicalStore.patients.create({ name: 'Leaving', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA })).id}/discharge`, body: { reason: 'goals_met' } }), expected: { admin: 200, nurseA: 200, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 } },
  {
    route: 'DELETE /v1/patients/:id/discharge',
    prepare: async () => {
      const { id } = await app.clinicalStore.patients.create({ name: 'Back', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA });
      await app.clinicalStore.patients.discharge(id, { reason: 'declined', actor: 'test' });
      return { method: 'DELETE', path: `/v1/patients/${id}/discharge` };
    },
    expected: { admin: 200, nurseA: 200, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 },
  },
  { route: 'GET /v1/patients/:id/monthly-report', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/monthly-report` }), expected: clinicalOwnOnly },
  // A fresh reading of patient A each try, set aside; put back from a record made for it.
  {
    route: 'POST /v1/patients/:id/set-aside-readings',
    prepare: async () => {
      const reading = readingAt(patientA, Date.now() - 3_600_000);
      await app.readingsStore.write([reading]);
      return { method: 'POST', path: `/v1/patients/${patientA}/set-aside-readings`, body: { deviceId: reading.deviceId, readingId: reading.readingId, measuredAt: reading.measuredAt, reason: 'not_the_patient' } };
    },
    expected: { admin: 201, nurseA: 201, physicianA: 201, billingA: 403, nurseB: 403, physicianB: 403 },
  },
  {
    route: 'POST /v1/patients/:id/set-aside-readings/batch',
    prepare: async () => {
      const readings = [readingAt(patientA, Date.now() - 2 * 3_600_000), readingAt(patientA, Date.now() - 3_600_000)];
      await app.readingsStore.write(readings);
      return { method: 'POST', path: `/v1/patients/${patientA}/set-aside-readings/batch`, body: { readings: readings.map(({ deviceId, readingId, measuredAt }) => ({ deviceId, readingId, measuredAt })), reason: 'device_fault' } };
    },
    expected: { admin: 201, nurseA: 201, physicianA: 201, billingA: 403, nurseB: 403, physicianB: 403 },
  },
  { route: 'GET /v1/patients/:id/set-aside-readings', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/set-aside-readings` }), expected: clinicalOwnOnly },
  // Past the access check the team is found to send readings to no EHR (the search itself: fhir-push.suite.ts).
  { route: 'GET /v1/patients/:id/ehr-patients', prepare: async () => (await app.clinicalStore.fhirEndpoints.delete(teamA), { method: 'GET', path: `/v1/patients/${patientA}/ehr-patients` }), expected: { admin: 404, nurseA: 404, physicianA: 404, billingA: 403, nurseB: 403, physicianB: 403 } },
  {
    route: 'POST /v1/patients/:id/set-aside-readings/:setAsideId/restore',
    prepare: async () => {
      const reading = readingAt(patientA, Date.now() - 3_600_000);
      const { setAside } = await app.clinicalStore.readingSetAsides.setAside({ reading, reason: 'device_fault', actor: 'test' });
      return { method: 'POST', path: `/v1/patients/${patientA}/set-aside-readings/${setAside.id}/restore` };
    },
    expected: clinicalOwnOnly,
  },
  { route: 'GET /v1/patients/:id/discharges', prepare: async () => ({ method: 'GET', path: `/v1/patients/${patientA}/discharges` }), expected: clinicalOwnOnly },
  { route: 'GET /v1/care-teams/:id/message-templates', prepare: async () => ({ method: 'GET', path: `/v1/care-teams/${teamA}/message-templates` }), expected: { ...clinicalOwnOnly, nurseB: 404, physicianB: 404 } },
  {
    route: 'PUT /v1/care-teams/:id/message-templates/:key/:language',
    prepare: async () => ({ method: 'PUT', path: `/v1/care-teams/${teamA}/message-templates/check_in_reminder/en`, body: { text: 'Your check-in for {{time}} is waiting.' } }),
    expected: { ...clinicalOwnOnly, nurseB: 404, physicianB: 404 },
  },
  {
    route: 'DELETE /v1/care-teams/:id/message-templates/:key/:language',
    prepare: async () => (await app.clinicalStore.messageTemplates.set(teamA, 'retake_request', 'fr', 'Refaites la mesure.', 'test'), { method: 'DELETE', path: `/v1/care-teams/${teamA}/message-templates/retake_request/fr` }),
    expected: { admin: 204, nurseA: 204, physicianA: 204, billingA: 403, nurseB: 404, physicianB: 404 },
  },
  { route: 'GET /v1/care-teams/:id/patient-gateway', prepare: async () => ({ method: 'GET', path: `/v1/care-teams/${teamA}/patient-gateway` }), expected: { ...clinicalOwnOnly, nurseB: 404, physicianB: 404 } },
  { route: 'PUT /v1/care-teams/:id/patient-gateway', prepare: async () => ({ method: 'PUT', path: `/v1/care-teams/${teamA}/patient-gateway`, body: { url: 'https://93.184.216.34/sms', secret: 'a-secret-of-some-length' } }), expected: adminOnly },
  {
    route: 'DELETE /v1/care-teams/:id/patient-gateway',
    prepare: async () => {
      const team = (await app.clinicalStore.careTeams.create({ name: 'Fresh' })).id;
      await app.clinicalStore.patientNotifications.setGateway(team, { url: 'https://93.184.216.34/sms', secret: 'a-secret-of-some-length' }, 'test');
      return { method: 'DELETE', path: `/v1/care-teams/${team}/patient-gateway` };
    },
    expected: { ...adminOnly, admin: 204 },
  },
];

/** A team pushing to an EHR (for the routes that read or remove its endpoint); its id. */
async function withEndpoint(teamId: string): Promise<string> {
  await app.clinicalStore.fhirEndpoints.put({ careTeamId: teamId, baseUrl: 'https://ehr.example.org/fhir', auth: { type: 'bearer', token: 'secret' }, enabled: true, updatedBy: 'test' });
  return teamId;
}

/** The FHIR API: the same roles and teams, answered with OperationOutcome resources. */
const FHIR_CASES: (Case & { headers?: Record<string, string> })[] = [
  { route: 'GET /fhir/R4/Patient/:id', prepare: async () => ({ method: 'GET', path: `/fhir/R4/Patient/${patientA}` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'GET /fhir/R4/Patient/:id/$cgm-summary', prepare: async () => ({ method: 'GET', path: `/fhir/R4/Patient/${patientA}/$cgm-summary` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'GET /fhir/R4/Patient', prepare: async () => ({ method: 'GET', path: '/fhir/R4/Patient' }), expected: { ...clinicalAll, patientA: 200, patientA2: 200 } },
  { route: 'GET /fhir/R4/Observation', prepare: async () => ({ method: 'GET', path: `/fhir/R4/Observation?patient=${patientA}` }), expected: { ...clinicalOwnOnly, patientA: 200 } },
  { route: 'GET /fhir/R4/Device', prepare: async () => ({ method: 'GET', path: '/fhir/R4/Device' }), expected: { ...clinicalAll, patientA: 200, patientA2: 200 } },
  { route: 'GET /fhir/R4/Group/:id/$export', headers: { Prefer: 'respond-async' }, prepare: async () => ({ method: 'GET', path: `/fhir/R4/Group/${teamA}/$export?_type=Patient` }), expected: { admin: 202, nurseA: 202, physicianA: 202, billingA: 403, nurseB: 403, physicianB: 403 } },
  { route: 'GET /fhir/R4/Patient/$export', headers: { Prefer: 'respond-async' }, prepare: async () => ({ method: 'GET', path: '/fhir/R4/Patient/$export?_type=Patient' }), expected: { admin: 202, nurseA: 403, physicianA: 403, billingA: 403, nurseB: 403, physicianB: 403 } },
];

describe('the access matrix', () => {
  const rows = CASES.flatMap((c) => (Object.keys(CALLERS) as Caller[]).map((caller) => [c.route, caller, c] as const));
  it.each(rows)('%s as %s', async (_route, caller, testCase) => {
    const { method, path, body } = await testCase.prepare();
    const response = await app.request(method, path, { token: tokens[caller], body });
    const expected = testCase.expected[caller as keyof Case['expected']] ?? 403;
    expect([caller, response.status]).toEqual([caller, expected]);
    if (response.status >= 400) expect(response.body).toEqual({ error: expect.stringMatching(/^RPM_ERR_/), message: expect.any(String) });
    // In absolute form the same caller gets the same answer: access is decided on the matched route.
    const again = await testCase.prepare();
    expect([caller, 'absolute-form', (await absoluteFormRequest(app.baseUrl, again.method, again.path, { token: tokens[caller], body: again.body })).status]).toEqual([caller, 'absolute-form', expected]);
  });

  const fhirRows = FHIR_CASES.flatMap((c) => (Object.keys(CALLERS) as Caller[]).map((caller) => [c.route, caller, c] as const));
  it.each(fhirRows)('%s as %s', async (_route, caller, testCase) => {
    const { method, path } = await testCase.prepare();
    const response = await app.request(method, path, { token: tokens[caller], headers: testCase.headers ?? {} });
    expect([caller, response.status]).toEqual([caller, testCase.expected[caller as keyof Case['expected']] ?? 403]);
    if (response.status >= 400) expect(response.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ details: { coding: [{ code: expect.stringMatching(/^RPM_ERR_/) }] } }] });
    expect([caller, (await app.request(method, path, { headers: testCase.headers ?? {} })).status]).toEqual([caller, 401]);
  });

  it('refuses every /v1 route without a token, or with a forged one', async () => {
    // Change the signature's first character: the last one of a base64url signature carries padding
    // bits, and changing it may leave the signature bytes as they were.
    const [header, payload, signature] = (await app.token('admin')).split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    let tried = 0;
    let refused = 0;
    const count = (status: number) => {
      tried += 1;
      if (status === 401) refused += 1;
      return status;
    };
    for (const c of CASES) {
      const { method, path, body } = await c.prepare();
      expect([c.route, (await app.request(method, path, { body })).status]).toEqual([c.route, 401]);
      expect([c.route, (await app.request(method, path, { body, token: forged })).status]).toEqual([c.route, 401]);
      // The same request with an absolute URL in its request line (`GET http://host/v1/… HTTP/1.1`).
      expect([c.route, 'absolute-form', count((await absoluteFormRequest(app.baseUrl, method, path, { body })).status)]).toEqual([c.route, 'absolute-form', 401]);
      expect([c.route, 'absolute-form', count((await absoluteFormRequest(app.baseUrl, method, path, { body, token: forged })).status)]).toEqual([c.route, 'absolute-form', 401]);
    }
    recordFaultSummary({ test: 'absolute-form requests, no or forged token', badTried: tried, badRefused: refused });
  });

  it('checks the care team of concurrent requests for one patient with shared lookups, none started before the request', async () => {
    const patients = app.clinicalStore.patients;
    const realGet = patients.get.bind(patients);
    let team = teamA;
    let lookups = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // A lookup answers the team as it was when the lookup started; the first one is held until the
    // requests below have come.
    patients.get = async (id: string) => {
      lookups += 1;
      const teamAtStart = team;
      const patient = await realGet(id);
      if (lookups === 1) await released;
      return patient && { ...patient, careTeamId: teamAtStart };
    };
    const path = `/v1/patients/${patientA2}/readings`;
    // Requests that reached their care-team check (asked for the patient's read): on a loaded host
    // ten requests sent at once may take longer than any fixed wait to get there (CI runs released
    // the first lookup before one had come, and that one, rightly, started a lookup of its own).
    let checking = 0;
    const realRead = FreshReads.prototype.read;
    FreshReads.prototype.read = function (this: FreshReads<unknown>, key: string, query: () => Promise<unknown>) {
      if (key === patientA2) checking += 1;
      return realRead.call(this, key, query);
    };
    try {
      const first = app.request('GET', path, { token: tokens.nurseA });
      while (lookups === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      // The patient moves to team B while the first request's lookup runs: every request that comes
      // after the move is decided on a lookup that started after it.
      team = teamB;
      const laterRequests = Promise.all(Array.from({ length: 10 }, () => app.request('GET', path, { token: tokens.nurseA })));
      while (checking < 11) await new Promise((resolve) => setTimeout(resolve, 5));
      release();
      const later = await laterRequests;
      expect((await first).status).toBe(200);
      expect(later.map((answer) => answer.status)).toEqual(Array.from({ length: 10 }, () => 403));
      // The ten shared one lookup, started when the first request's had ended.
      expect(lookups).toBe(2);
    } finally {
      patients.get = realGet;
      FreshReads.prototype.read = realRead;
    }
  });

  it('lists only the patients and alerts of the caller’s teams', async () => {
    const patientB = (await app.clinicalStore.patients.create({ name: 'Patient B', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamB })).id;
    await app.clinicalStore.alerts.open({ patientId: patientB, ruleId: 'r-b', severity: 'low', summary: 'b', actor: 'test' });
    const seenByA = (await app.request('GET', '/v1/patients?limit=500', { token: tokens.nurseA })).body as { patients: { careTeamId: string }[] };
    expect(seenByA.patients.length).toBeGreaterThan(0);
    expect(seenByA.patients.every((p) => p.careTeamId === teamA)).toBe(true);
    const alertsOfA = (await app.request('GET', '/v1/alerts?limit=500', { token: tokens.nurseA })).body as { alerts: { careTeamId: string }[] };
    expect(alertsOfA.alerts.every((a) => a.careTeamId === teamA)).toBe(true);
    const triageB = (await app.request('GET', '/v1/triage', { token: tokens.nurseB })).body as { patients: { patientId: string }[] };
    expect(triageB.patients.map((p) => p.patientId)).toEqual([patientB]);
  });
});
