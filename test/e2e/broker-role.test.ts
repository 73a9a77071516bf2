// `rpm start --role broker`: Mosquitto run by the platform and kept in step with the device registry.
// A device provisioned while it runs can connect within seconds; a retired one no longer can. A
// device's client id is its own: naming another's takes nothing over.
import { afterAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../../local-servers/ports.js';
import { mosquittoUnavailableReason } from '../../local-servers/mosquitto.js';
import { ClinicalStore } from '../../store/index.js';
import { eventually } from '../support/ingest-harness.js';
import { runRpm, type RpmProcess } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

let rpm: RpmProcess | undefined;
afterAll(async () => {
  rpm?.child.kill('SIGTERM');
  await rpm?.exited;
});

const canLogIn = async (url: string, username: string, password: string) =>
  mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, connectTimeout: 3_000, clientId: `${username}-${Date.now()}` }).then(
    async (client) => {
      await client.endAsync(true);
      return true;
    },
    () => false,
  );

describeWithServer('mosquitto', mosquittoUnavailableReason())('rpm start --role broker', () => {
  it('serves the registry: provisioned devices in, retired ones out, the platform user allowed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-broker-role-'));
    const store = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
    try {
      const early = await store.devices.provision({ id: 'cuff-early', kind: 'blood_pressure' });
      const other = await store.devices.provision({ id: 'scale-other', kind: 'weight' });
      const [port, platformPort] = [await freePort(), await freePort()];
      const url = `mqtt://127.0.0.1:${port}`;
      const platformUrl = `mqtt://127.0.0.1:${platformPort}`;
      rpm = runRpm(['start', '--role', 'broker'], { RPM_DATA_DIR: dataDir, RPM_MQTT_PORT: String(port), RPM_HTTP_PORT: '0', RPM_MQTT_URL: `mqtt://rpm-platform:platform-secret-0123456789@127.0.0.1:${platformPort}`, RPM_LOG_LEVEL: 'warn' });
      const [, health] = await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/, 20_000);
      expect((await fetch(`${health}/readyz`)).status).toBe(200);
      expect(await canLogIn(url, 'cuff-early', early.secret)).toBe(true);
      expect(await canLogIn(url, 'cuff-early', 'wrong')).toBe(false);
      // The platform's own listener: its user only.
      expect(await canLogIn(platformUrl, 'rpm-platform', 'platform-secret-0123456789')).toBe(true);
      expect(await canLogIn(platformUrl, 'cuff-early', early.secret)).toBe(false);

      // A device naming another's client id neither disconnects it nor gets its session; the
      // platform's processes keep client ids of their own under one user.
      const victim = await mqtt.connectAsync(url, { username: 'scale-other', password: other.secret, clientId: 'scale-other', clean: false, reconnectPeriod: 0 });
      let kicked = false;
      victim.on('close', () => (kicked = true));
      const intruder = mqtt.connect(url, { username: 'cuff-early', password: early.secret, clientId: 'scale-other', clean: false, reconnectPeriod: 0 });
      const intruderConnack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        intruder.once('connect', resolve);
        intruder.once('error', reject);
      });
      const platformA = await mqtt.connectAsync(platformUrl, { username: 'rpm-platform', password: 'platform-secret-0123456789', clientId: 'ingest-a', clean: false, reconnectPeriod: 0 });
      let platformKicked = false;
      platformA.on('close', () => (platformKicked = true));
      const platformB = await mqtt.connectAsync(platformUrl, { username: 'rpm-platform', password: 'platform-secret-0123456789', clientId: 'ingest-b', clean: false, reconnectPeriod: 0 });
      // The intruder's session is its own (Mosquitto names it after the user): it resumes none.
      expect(intruderConnack.sessionPresent).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect({ kicked, platformKicked, victim: victim.connected, platformA: platformA.connected }).toEqual({ kicked: false, platformKicked: false, victim: true, platformA: true });
      for (const client of [victim, intruder, platformA, platformB]) await client.endAsync(true);

      const late = await store.devices.provision({ id: 'meter-late', kind: 'glucose' });
      await eventually(async () => ((await canLogIn(url, 'meter-late', late.secret)) ? true : undefined), 20_000);
      await store.devices.retire('cuff-early');
      await eventually(async () => ((await canLogIn(url, 'cuff-early', early.secret)) ? undefined : true), 20_000);
    } finally {
      await store.close();
    }
  }, 60_000);
});
