// Readings pushed to an EHR's FHIR server nobody here wrote (Medplum's FHIR router standing in for
// the EHR, test/support/medplum-ehr.ts), as the platform pushes them: queued on the hand-over from
// ingest, sent in transaction Bundles with conditional creates, retried with backoff across restarts.
// Run over each clinical store (the queue lives there); the minute-long outage runs once, on SQLite.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Device, Observation, Patient } from '@medplum/fhirtypes';
import { startFhirPush, type FhirPush } from '../../../bin/fhir-push.js';
import { loadDeviceProfiles } from '../../../device-profiles/index.js';
import { WebhookTargetPolicy } from '../../../rules/index.js';
import type { ClinicalDatabaseLocation } from '../../../store/index.js';
import { freePort, startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, receiptCollector, unique } from '../../support/ingest-harness.js';
import { startMedplumEhr, type MedplumEhr } from '../../support/medplum-ehr.js';

/** The outage the issue names: the EHR is down for a minute. */
const OUTAGE_MS = 60_000;
const PHD_IDENTIFIER = 'http://hl7.org/fhir/uv/phd/StructureDefinition/PhdBaseObservation';

interface Enrolled {
  teamId: string;
  patientId: string;
  gatewayId: string;
  cuffId: string;
  client: MqttClient;
}

export interface FhirPushSuiteOptions {
  clinicalDatabase?: () => Promise<ClinicalDatabaseLocation>;
  /** The minute-long outage (slow: run on one store). */
  outage: boolean;
}

export function fhirPushSuite(options: FhirPushSuiteOptions): void {
  let app: ApiHarness;
  let admin: string;
  let push: FhirPush;
  let bearerEhr: MedplumEhr;
  let smartEhr: MedplumEhr;
  let teamA: Enrolled;
  let teamB: Enrolled;
  const targets = new WebhookTargetPolicy(['127.0.0.1']);
  const startPush = () => startFhirPush(app.rules, { clinicalStore: app.clinicalStore, deviceProfiles: loadDeviceProfiles(), targets, logger: pino({ level: process.env.RPM_TEST_LOG_LEVEL ?? 'silent' }), registry: new Registry(), retry: { firstMs: 200, maxMs: 2_000, maxAttempts: 10_000 } });

  async function enroll(teamId: string): Promise<Enrolled> {
    const patient = await app.clinicalStore.patients.create({ name: 'Pushed Patient', birthDate: '1944-05-06', timezone: 'America/Denver', careTeamId: teamId });
    const gatewayId = unique('hub');
    const cuffId = unique('cuff');
    const gateway = await app.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    await app.clinicalStore.devices.provision({ id: cuffId, kind: 'blood_pressure', model: 'and-ua-651ble', gatewayId });
    await app.clinicalStore.devices.assign(cuffId, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    return { teamId, patientId: patient.id, gatewayId, cuffId, client: await connect(app.url, gatewayId, gateway.secret) };
  }

  /** Blood pressure readings through the gateway, in one message; resolves once ingest accepted them all. */
  async function publish(enrolled: Enrolled, systolics: number[]): Promise<string[]> {
    const receipts = await receiptCollector(enrolled.client, enrolled.cuffId);
    const ids = systolics.map(() => unique('r'));
    const measuredAt = new Date(Date.now() - 60_000).toISOString();
    await enrolled.client.publishAsync(`rpm/v1/devices/${enrolled.cuffId}/readings`, JSON.stringify({ readings: systolics.map((systolic, index) => ({ readingId: ids[index], deviceId: enrolled.cuffId, gatewayId: enrolled.gatewayId, kind: 'blood_pressure', measuredAt, systolic, diastolic: 80, pulse: 70, unit: 'mmHg' })) }), { qos: 1 });
    // Receipts of this message only (the collector may also hear a late one of an earlier message).
    const ours = await eventually(async () => {
      const found = ids.map((id) => receipts.receipts.find((receipt) => receipt.readingId === id));
      return found.every((receipt) => receipt !== undefined) ? found : undefined;
    });
    expect(ours.map((receipt) => receipt!.status)).toEqual(systolics.map(() => 'accepted'));
    return ids;
  }

  async function deliveries(teamId: string, status?: string) {
    const response = await app.request('GET', `/v1/fhir-deliveries?careTeamId=${teamId}&limit=500${status ? `&status=${status}` : ''}`, { token: admin });
    expect(response.status).toBe(200);
    return (response.body as { deliveries: { readingId: string; status: string; attempts: number; lastError: string | null }[] }).deliveries;
  }

  async function delivered(teamId: string, readingIds: string[]) {
    return eventually(async () => {
      const done = (await deliveries(teamId, 'delivered')).filter((delivery) => readingIds.includes(delivery.readingId));
      return done.length === readingIds.length ? done : undefined;
    }, 20_000);
  }

  const observationsIn = async (ehr: MedplumEhr, enrolled: Enrolled) => (await ehr.search<Observation>(`Observation?_count=1000`)).filter((observation) => observation.identifier?.[0]?.value?.startsWith(`${enrolled.cuffId}/`));

  beforeAll(async () => {
    const port = await freePort();
    app = await startApiHarness({ port, publicUrl: `http://127.0.0.1:${port}`, webhookTargets: targets, rateLimitPerMinute: 0, clinicalDatabase: await options.clinicalDatabase?.() });
    admin = await app.token('admin', [], unique('admin'));
    push = startPush();
    app.handover = { judge: (readings) => push.handOver(readings) };
    bearerEhr = await startMedplumEhr({ auth: { type: 'bearer', token: 'ehr-secret-token' } });
    smartEhr = await startMedplumEhr({ auth: { type: 'smart', clientId: 'rpm-platform', tokenLifetimeSeconds: 2 } });
    teamA = await enroll(app.teamId);
    teamB = await enroll((await app.clinicalStore.careTeams.create({ id: unique('team'), name: 'SMART team' })).id);
  });

  afterAll(async () => {
    await teamA?.client.endAsync();
    await teamB?.client.endAsync();
    await push?.stop();
    await app?.stopAll();
    await bearerEhr?.stop();
    await smartEhr?.stop();
  });

  it('configures a team’s endpoint with a bearer token it never shows again, refusing a target outside the policy', async () => {
    const nurse = await app.token('nurse', [teamA.teamId], unique('nurse'));
    const body = { baseUrl: bearerEhr.baseUrl, auth: { type: 'bearer', token: 'ehr-secret-token' } };
    expect((await app.request('PUT', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: nurse, body })).status).toBe(403);
    const refused = await app.request('PUT', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: admin, body: { ...body, baseUrl: 'http://10.1.2.3/fhir' } });
    expect(refused.status).toBe(400);
    expect((refused.body as { message: string }).message).toMatch(/^body\/baseUrl: /);
    const stored = await app.request('PUT', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: admin, body });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ careTeamId: teamA.teamId, baseUrl: bearerEhr.baseUrl, auth: { type: 'bearer' }, enabled: true });
    const seen = await app.request('GET', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: nurse });
    expect(JSON.stringify(seen.body)).not.toContain('ehr-secret-token');
    const otherNurse = await app.token('nurse', [teamB.teamId], unique('nurse'));
    expect((await app.request('GET', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: otherNurse })).status).toBe(403);
  });

  it('pushes a team’s readings as conditional creates: an answer lost after the EHR committed, the batch sent again, and each resource exists once', async () => {
    bearerEhr.loseNextAnswer();
    const ids = await publish(teamA, [152, 128]);
    const done = await delivered(teamA.teamId, ids);
    // The first answer was lost, so each reading took a second attempt, which found what the first made.
    expect(done.map((delivery) => delivery.attempts)).toEqual([2, 2]);
    expect(bearerEhr.counts.transactions).toBe(2);
    const observations = await observationsIn(bearerEhr, teamA);
    // A panel and a pulse per reading, once each.
    expect(observations).toHaveLength(4);
    expect(new Set(observations.map((observation) => observation.identifier![0]!.value)).size).toBe(4);
    expect(observations.every((observation) => observation.identifier![0]!.system === PHD_IDENTIFIER)).toBe(true);
    const patients = await bearerEhr.search<Patient>(`Patient?identifier=${encodeURIComponent(`urn:rpm-ingest:patient|${teamA.patientId}`)}`);
    expect(patients).toHaveLength(1);
    // The EHR's own ids: the Observations point at the Patient and Devices it created.
    expect(new Set(observations.map((observation) => observation.subject?.reference))).toEqual(new Set([`Patient/${patients[0]!.id}`]));
    const devices = await bearerEhr.search<Device>('Device?_count=100');
    const cuff = devices.find((device) => device.identifier?.[0]?.value === teamA.cuffId)!;
    const gateway = devices.find((device) => device.identifier?.[0]?.value === teamA.gatewayId)!;
    expect(observations[0]!.device?.reference).toBe(`Device/${cuff.id}`);
    expect(observations[0]!.extension?.find((extension) => extension.url.endsWith('observation-gatewayDevice'))?.valueReference?.reference).toBe(`Device/${gateway.id}`);
    expect(cuff.parent?.reference).toBe(`Device/${gateway.id}`);
    // The same readings pushed once more (another batch) create nothing new.
    await publish(teamA, [131]);
    await eventually(async () => ((await observationsIn(bearerEhr, teamA)).length === 6 ? true : undefined));
    expect(await bearerEhr.search<Patient>(`Patient?identifier=${encodeURIComponent(`urn:rpm-ingest:patient|${teamA.patientId}`)}`)).toHaveLength(1);
  });

  it('a reading the EHR refuses holds up only itself: the batch is sent again in halves', async () => {
    bearerEhr.refuseValue(199);
    const ids = await publish(teamA, [141, 199, 143]);
    await delivered(teamA.teamId, [ids[0]!, ids[2]!]);
    const refused = await eventually(async () => (await deliveries(teamA.teamId)).find((delivery) => delivery.readingId === ids[1] && delivery.lastError !== null));
    expect(refused).toMatchObject({ status: expect.stringMatching(/^(pending|sending)$/), lastError: expect.stringContaining('value 199 is refused here') });
    bearerEhr.refuseValue(undefined);
    await delivered(teamA.teamId, [ids[1]!]);
  });

  // Registered only where asked for (not skipped elsewhere: it is not a missing server).
  if (options.outage) {
    it(
      'loses nothing while the EHR is down for a minute, across a restart of the sender, and ingest goes on accepting readings meanwhile',
      async () => {
        await bearerEhr.stop();
        const downAt = Date.now();
        const before = (await observationsIn(bearerEhr, teamA)).length;
        // Ingest is not held up by a dead EHR: readings are accepted as before.
        const ids = [...(await publish(teamA, [135])), ...(await publish(teamA, [136, 137]))];
        await eventually(async () => ((await deliveries(teamA.teamId)).filter((delivery) => ids.includes(delivery.readingId) && delivery.attempts >= 2).length === 3 ? true : undefined), 20_000);
        // The platform restarts: a new sender takes the queue over from the database.
        await push.stop();
        push = startPush();
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
        await bearerEhr.start();
        await delivered(teamA.teamId, ids);
        expect((await observationsIn(bearerEhr, teamA)).length).toBe(before + 3 * 2);
      },
      OUTAGE_MS + 60_000,
    );
  }

  it('authenticates as a SMART Backend Services client: its key stays on the platform, the EHR checks the signed assertion against the team’s JWKS, and the token is renewed when it runs out', async () => {
    const configured = await app.request('PUT', `/v1/care-teams/${teamB.teamId}/fhir-endpoint`, { token: admin, body: { baseUrl: smartEhr.baseUrl, auth: { type: 'smart-backend', clientId: 'rpm-platform' } } });
    expect(configured.status).toBe(200);
    const auth = (configured.body as { auth: { type: string; publicJwk: Record<string, unknown>; jwksUrl: string; scope: string } }).auth;
    expect(auth).toMatchObject({ type: 'smart-backend', scope: expect.stringContaining('system/Observation.') });
    expect(auth.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-384', alg: 'ES384', use: 'sig' });
    expect(auth.publicJwk.d).toBeUndefined();
    const jwks = await fetch(auth.jwksUrl);
    expect(jwks.status).toBe(200);
    expect(await jwks.json()).toEqual({ keys: [auth.publicJwk] });
    smartEhr.registerClient(auth.jwksUrl);

    const first = await publish(teamB, [150]);
    await delivered(teamB.teamId, first);
    expect(smartEhr.counts.tokens).toBe(1);
    // The token lives 2 s: the next push asks for a new one.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const second = await publish(teamB, [151]);
    await delivered(teamB.teamId, second);
    expect(smartEhr.counts.tokens).toBe(2);
    expect(await observationsIn(smartEhr, teamB)).toHaveLength(4);
    // Changing the endpoint keeps the key the EHR registered, unless asked to rotate it.
    const again = await app.request('PUT', `/v1/care-teams/${teamB.teamId}/fhir-endpoint`, { token: admin, body: { baseUrl: smartEhr.baseUrl, auth: { type: 'smart-backend', clientId: 'rpm-platform' } } });
    expect((again.body as { auth: { publicJwk: unknown } }).auth.publicJwk).toEqual(auth.publicJwk);
  });

  it('shows a team only its own deliveries; removing the endpoint fails what was still queued, saying why', async () => {
    const nurseB = await app.token('nurse', [teamB.teamId], unique('nurse'));
    const seen = await app.request('GET', '/v1/fhir-deliveries', { token: nurseB });
    const teams = new Set((seen.body as { deliveries: { careTeamId: string }[] }).deliveries.map((delivery) => delivery.careTeamId));
    expect(teams).toEqual(new Set([teamB.teamId]));
    await smartEhr.stop();
    const queued = await publish(teamB, [160]);
    await eventually(async () => ((await deliveries(teamB.teamId)).find((delivery) => delivery.readingId === queued[0] && delivery.attempts >= 1) ? true : undefined));
    expect((await app.request('DELETE', `/v1/care-teams/${teamB.teamId}/fhir-endpoint`, { token: admin })).status).toBe(204);
    const failed = await eventually(async () => (await deliveries(teamB.teamId, 'failed')).find((delivery) => delivery.readingId === queued[0]));
    expect(failed.lastError).toMatch(/endpoint was removed/);
    expect((await fetch(`${app.baseUrl}/v1/care-teams/${teamB.teamId}/fhir-endpoint/jwks.json`)).status).toBe(404);
  });

  it('runs the examples of docs/fhir.md as written: a search, a CGM summary, an export kick-off, an endpoint set up for SMART', async () => {
    const text = readFileSync(new URL('../../../docs/fhir.md', import.meta.url), 'utf8');
    const [search, cgmSummary, kickOff, configure] = [...text.matchAll(/```sh\n([^]*?)```/g)].map((match) => match[1]!);
    const team = await app.clinicalStore.careTeams.create({ id: unique('docs-team'), name: 'Docs team' });
    const patient = await app.clinicalStore.patients.create({ name: 'Docs Patient', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team.id });
    const env = { ...process.env, RPM: app.baseUrl, TOKEN: admin, PATIENT: patient.id, TEAM: team.id, EHR: smartEhr.baseUrl };
    const run = async (command: string) => (await promisify(execFile)('sh', ['-c', command], { env })).stdout;
    expect(JSON.parse(await run(search!))).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    // A patient with no CGM readings in the period: the summary is a Bundle with no entries.
    expect(JSON.parse(await run(cgmSummary!))).toEqual({ resourceType: 'Bundle', type: 'collection', timestamp: expect.any(String), entry: [] });
    expect(await run(kickOff!)).toMatch(/^HTTP\/1\.1 202[^]*content-location: .*\$export-status\//im);
    expect(JSON.parse(await run(configure!))).toMatchObject({ careTeamId: team.id, auth: { type: 'smart-backend', clientId: 'rpm-platform' } });
  });
}
