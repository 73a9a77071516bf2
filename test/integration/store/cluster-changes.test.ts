// Two processes of a platform split into processes, each with its own clinical store connection
// (one database) and its own connection to the channel between them: NATS (the highly available
// shape) or the MQTT broker with the platform's ACL (the roles shape). A reading set aside through
// one is known to the other's ingest at once, not at its next 30 s reload; device and threshold
// changes are heard the same way, once each, and never echoed back to the process that made them.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connect } from '@nats-io/transport-node';
import { ClinicalStore, ClusterChanges, clinicalChangesOf, mqttChangeChannel, natsChangeChannel, type ChangeChannel } from '../../../store/index.js';
import { SetAsideKeys } from '../../../ingest/set-aside-keys.js';
import { readingKey } from '../../../ingest/spool/seen-keys.js';
import { natsUnavailableReason, startNatsCluster } from '../../../local-servers/nats-cluster.js';
import { mosquittoUnavailableReason, startMosquitto } from '../../../local-servers/mosquitto.js';
import { describeWithServer } from '../../support/servers.js';
import { eventually } from '../../support/ingest-harness.js';

const logger = pino({ level: 'silent' });
const HOUR_MS = 3_600_000;
const PLATFORM = { username: 'rpm-platform', password: 'platform-password-for-the-changes-test' };

/** A server and, per process, a channel to it. */
interface Transport {
  channel(name: string): Promise<ChangeChannel>;
  stop(): Promise<void>;
}

const reading = (patientId: string, readingId: string) => ({ patientId, deviceId: 'shared-cuff', readingId, kind: 'blood_pressure' as const, measuredAt: '2026-12-07T08:00:00.000Z', measuredAtAsSent: '2026-12-07T08:00:00.000Z', receivedAt: '2026-12-07T08:00:01.000Z', gatewayId: null, source: 'device' as const, unit: 'mmHg', values: { systolic: 186, diastolic: 104 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 186, diastolic: 104 } } });

function sharedChangesSuite(start: () => Promise<Transport>): void {
  let transport: Transport;
  const processes: { store: ClinicalStore; changes: ClusterChanges; heard: string[] }[] = [];

  beforeAll(async () => {
    transport = await start();
    const path = join(mkdtempSync(join(tmpdir(), 'rpm-cluster-changes-')), 'clinical.sqlite');
    for (const name of ['a', 'b']) {
      const store = await ClinicalStore.open({ dialect: 'sqlite', path });
      const changes = new ClusterChanges(await transport.channel(name), clinicalChangesOf(store), logger);
      await changes.start();
      const heard: string[] = [];
      for (const [what, emitter] of Object.entries(clinicalChangesOf(store))) emitter.on('changed', (id: string) => heard.push(`${what} ${id}`));
      processes.push({ store, changes, heard });
    }
  });

  afterAll(async () => {
    for (const { store, changes } of processes) {
      await changes.stop().catch(() => undefined);
      await store.close();
    }
    await transport?.stop();
  });

  it('announces each change once in every process, a device’s and a patient’s thresholds too, never echoed back', async () => {
    const [a, b] = processes as [(typeof processes)[number], (typeof processes)[number]];
    a.store.devices.changes.emit('changed', 'cuff-9');
    b.store.thresholds.changes.emit('changed', 'patient-7');
    a.store.readingSetAsides.changes.emit('changed', 'patient-8');
    await eventually(async () => (a.heard.length === 3 && b.heard.length === 3 ? true : undefined), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(a.heard.sort()).toEqual(['devices cuff-9', 'readingSetAsides patient-8', 'thresholds patient-7']);
    expect(b.heard.sort()).toEqual(['devices cuff-9', 'readingSetAsides patient-8', 'thresholds patient-7']);
  });

  it('tells the other process’s ingest of a reading set aside at once, and of it put back', async () => {
    const [a, b] = processes as [(typeof processes)[number], (typeof processes)[number]];
    const team = await a.store.careTeams.create({ name: 'Cluster team' });
    const patient = await a.store.patients.create({ name: 'Clara Cluster', birthDate: '1950-01-01', timezone: 'America/Chicago', careTeamId: team.id });
    // Process b's ingest, reading the set-aside readings at start and then only every hour.
    const keys = new SetAsideKeys(b.store.readingSetAsides, logger, HOUR_MS);
    keys.start();
    await keys.ready;
    const known = (readingId: string) => {
      const seen = new Set<string>();
      keys.addTo([['shared-cuff', readingId]], seen);
      return seen.has(readingKey('shared-cuff', readingId));
    };
    expect(known('c-1')).toBe(false);

    // Process a sets the husband's reading aside, as its API does.
    const { setAside } = await a.store.readingSetAsides.setAside({ reading: reading(patient.id, 'c-1'), reason: 'not_the_patient', actor: 'nurse-1' });
    a.store.readingSetAsides.announceChanged(patient.id);
    await eventually(async () => (known('c-1') ? true : undefined), 5_000);
    // Put back through process a: process b takes it again.
    await a.store.readingSetAsides.restore(setAside.id, 'nurse-1');
    a.store.readingSetAsides.announceChanged(patient.id);
    await eventually(async () => (!known('c-1') ? true : undefined), 5_000);

    // Without the shared changes, b would have had to wait for its reload: with b's stopped, a
    // reading set aside through a stays unknown to b.
    await b.changes.stop();
    await a.store.readingSetAsides.setAside({ reading: reading(patient.id, 'c-2'), reason: 'device_fault', actor: 'nurse-1' });
    a.store.readingSetAsides.announceChanged(patient.id);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(known('c-2')).toBe(false);
    keys.stop();
  });
}

describeWithServer('NATS', natsUnavailableReason())('store changes shared between processes over NATS', () =>
  sharedChangesSuite(async () => {
    const nats = await startNatsCluster(1);
    const connections: Awaited<ReturnType<typeof connect>>[] = [];
    return {
      channel: async (name) => {
        const nc = await connect({ servers: nats.urls.split(','), name });
        connections.push(nc);
        return natsChangeChannel(nc, logger);
      },
      stop: async () => {
        for (const nc of connections) await nc.close();
        await nats.stop();
      },
    };
  }),
);

describeWithServer('Mosquitto', mosquittoUnavailableReason())('store changes shared between processes over the MQTT broker', () =>
  sharedChangesSuite(async () => {
    // The platform's user and its ACL as `rpm mosquitto-files` writes them for this topic.
    const mosquitto = await startMosquitto({ [PLATFORM.username]: PLATFORM.password }, `user ${PLATFORM.username}\ntopic readwrite rpm/v1/internal/#\n`);
    const url = `mqtt://${PLATFORM.username}:${PLATFORM.password}@127.0.0.1:${mosquitto.port}`;
    return { channel: (name) => mqttChangeChannel(url, `rpm-changes-test-${name}-${process.pid}`, logger), stop: () => mosquitto.stop() };
  }),
);
