// The deployment files, checked as far as this machine allows without a Docker engine: the compose
// file validates (docker-compose config) and refuses to start without its secrets; the Mosquitto
// configuration starts a real Mosquitto 2 with TLS; the image's health check command answers against
// a running platform; Grafana's dashboard queries the measurements and fields the platform writes.
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { fileURLToPath } from 'node:url';
import { MEASUREMENT_KINDS } from '../../device-profiles/index.js';
import { runMosquitto } from '../../local-servers/mosquitto.js';
import { freePort, startOnFreePorts } from '../../local-servers/ports.js';
import { terminate } from '../../local-servers/time-series.js';
import { mosquittoPasswordHash } from '../../store/index.js';
import { runRpm, type RpmProcess } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const missing = (command: string, pkg: string) => (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0 ? undefined : `${command} is not installed (Debian package ${pkg}; .ci/run installs it)`);

const SECRETS = ['RPM_POSTGRES_PASSWORD', 'RPM_INFLUX_PASSWORD', 'RPM_INFLUX_TOKEN', 'RPM_MQTT_PLATFORM_PASSWORD', 'RPM_JWT_SECRET', 'RPM_GRAFANA_PASSWORD'];

function compose(env: Record<string, string>, options: string[] = [], file = 'docker-compose.yml') {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-compose-'));
  const envFile = join(dir, '.env');
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n'));
  return spawnSync('docker-compose', ['--env-file', envFile, '-f', join(ROOT, file), 'config', ...options], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

/** The secrets the highly available shape asks for: no broker password, no Grafana. */
const HA_SECRETS = ['RPM_POSTGRES_PASSWORD', 'RPM_INFLUX_PASSWORD', 'RPM_INFLUX_TOKEN', 'RPM_JWT_SECRET'];

describeWithServer('docker-compose', missing('docker-compose', 'docker-compose'))('docker-compose.yml', () => {
  it('validates, and wires every service the deployment needs', () => {
    const result = compose(Object.fromEntries(SECRETS.map((name) => [name, `value-for-${name.toLowerCase()}-0123456789`])));
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    for (const service of ['postgres:', 'influxdb:', 'migrate:', 'broker-files:', 'mosquitto:', 'ingest:', 'rules:', 'api:', 'grafana:']) expect(result.stdout).toContain(`  ${service}`);
    for (const role of ['ingest', 'rules', 'api']) expect(result.stdout).toMatch(new RegExp(`- --role\\n\\s+- ${role}`));
    expect(result.stdout).toContain('image: influxdb:2.7');
    expect(result.stdout).toContain('image: postgres:16');
    expect(result.stdout).toContain('image: eclipse-mosquitto:2');
  });

  it('has every service, volume and account docs/deployment.md names in its commands', () => {
    const services = compose(Object.fromEntries(SECRETS.map((name) => [name, 'x'.repeat(40)])), ['--services']);
    expect(services.status).toBe(0);
    const known = new Set(services.stdout.trim().split('\n'));
    const guide = read('docs/deployment.md');
    // The service each `docker compose <command> [options] <service>` of the guide acts on.
    const valueOptions = new Set(['-s', '--signal', '-u', '--user', '-e', '--env', '-w', '--workdir', '--tail']);
    const named = [...guide.matchAll(/docker compose ([a-z]+)((?: [^\s`|&;>]+)*)/g)].flatMap(([, command, rest]) => {
      if (command === 'up' || command === 'down' || command === 'config') return [];
      const words = rest!.trim().split(' ');
      for (let i = 0; i < words.length; i += 1) {
        if (!words[i]!.startsWith('-')) return [words[i]!];
        if (valueOptions.has(words[i]!)) i += 1;
      }
      return [''];
    });
    expect(named.length).toBeGreaterThanOrEqual(5);
    for (const service of named) expect({ service, known: known.has(service) }).toEqual({ service, known: true });
    const file = read('docker-compose.yml');
    for (const [, volume] of guide.matchAll(/the `([a-z-]+)` volume/g)) expect(file).toMatch(new RegExp(`^  ${volume}:$`, 'm'));
    // The dump's account and database are the ones the compose file creates; the backup path is the mounted volume.
    const dump = /pg_dump -U (\w+) -Fc (\w+)/.exec(guide);
    expect(dump).not.toBeNull();
    // The stores' services come from deploy/compose/stores.yml: read them as compose resolves them.
    const resolved = compose(Object.fromEntries(SECRETS.map((name) => [name, 'x'.repeat(40)]))).stdout;
    expect(resolved).toContain(`POSTGRES_USER: ${dump![1]}`);
    expect(resolved).toContain(`POSTGRES_DB: ${dump![2]}`);
    expect(guide).toContain('influx backup /var/lib/influxdb2/');
    expect(resolved).toContain('influxdb-data:/var/lib/influxdb2');
    // `cp deploy/env.example .env`: the file exists and lists every secret compose asks for.
    const example = read('deploy/env.example');
    for (const name of SECRETS) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it('has the highly available shape in docker-compose.ha.yml: three NATS nodes, two brokers that ingest, two rules processes on leases, no Mosquitto', () => {
    const result = compose(Object.fromEntries(HA_SECRETS.map((name) => [name, `value-for-${name.toLowerCase()}-0123456789`])), [], 'docker-compose.ha.yml');
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    const services = compose(Object.fromEntries(HA_SECRETS.map((name) => [name, 'x'.repeat(40)])), ['--services'], 'docker-compose.ha.yml').stdout.trim().split('\n').sort();
    expect(services).toEqual(['api', 'influxdb', 'ingest-1', 'ingest-2', 'migrate', 'nats-1', 'nats-2', 'nats-3', 'postgres', 'rules-1', 'rules-2']);
    // Every platform process knows every NATS node; each node routes to the two others; rules take no fixed partitions.
    const urls = [...result.stdout.matchAll(/RPM_NATS_URL: (\S+)/g)].map((m) => m[1]);
    expect(urls).toHaveLength(6);
    for (const url of urls) expect(url).toBe('nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222');
    expect(result.stdout).not.toContain('--partitions');
    expect(result.stdout).not.toContain('RPM_MQTT_URL');
    for (const node of [1, 2, 3]) expect(result.stdout).toMatch(new RegExp(`- nats-${node}\\n(?:\\s+- .*\\n)*?\\s+- --cluster_name`));
    expect(result.stdout).toContain('image: postgres:16');
    const missingSecret = compose(Object.fromEntries(HA_SECRETS.filter((name) => name !== 'RPM_JWT_SECRET').map((name) => [name, 'x'.repeat(40)])), [], 'docker-compose.ha.yml');
    expect(missingSecret.status).not.toBe(0);
    expect(missingSecret.stderr).toContain('RPM_JWT_SECRET');
  });

  it('refuses to start without a secret, naming it', () => {
    const result = compose(Object.fromEntries(SECRETS.filter((name) => name !== 'RPM_JWT_SECRET').map((name) => [name, 'x'.repeat(40)])));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('RPM_JWT_SECRET');
  });
});

describeWithServer('mosquitto', missing('mosquitto', 'mosquitto') ?? missing('openssl', 'openssl'))('deploy/mosquitto/mosquitto.conf', () => {
  it('starts a real Mosquitto 2 with its TLS listener, where a device cannot take over another’s client id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpm-mosq-conf-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')], { stdio: 'ignore' });
    writeFileSync(join(dir, 'passwd'), ['cuff-1', 'cuff-2'].map((id) => `${id}:${mosquittoPasswordHash(`${id}-secret`)}\n`).join(''));
    writeFileSync(join(dir, 'acl'), '');
    // The file as shipped, with its container paths and ports pointed at this test's.
    const conf = join(dir, 'mosquitto.conf');
    const [broker, tls] = await startOnFreePorts(2, async ([plain, tls]) => {
      writeFileSync(
        conf,
        read('deploy/mosquitto/mosquitto.conf')
          .replaceAll('/mosquitto-auth/', `${dir}/`)
          .replaceAll('/mosquitto/tls/', `${dir}/`)
          .replaceAll('/mosquitto/data/', `${dir}/`)
          .replace('listener 1883 0.0.0.0', `listener ${plain} 127.0.0.1`)
          .replace('listener 8883 0.0.0.0', `listener ${tls} 127.0.0.1`)
          .replace('log_dest stdout', `log_dest stderr\nuser ${userInfo().username}`),
      );
      // Ready once the broker itself listens on both (runMosquitto), having read the whole file.
      return [await runMosquitto(conf, [plain, tls]), tls] as const;
    });
    try {
      const connect = (username: string, clientId: string) => mqtt.connectAsync(`mqtts://127.0.0.1:${tls}`, { username, password: `${username}-secret`, clientId, rejectUnauthorized: false, reconnectPeriod: 0 });
      const victim = await connect('cuff-2', 'cuff-2');
      let kicked = false;
      victim.on('close', () => (kicked = true));
      const intruder = await connect('cuff-1', 'cuff-2');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(kicked).toBe(false);
      for (const client of [victim, intruder]) await client.endAsync(true);
    } finally {
      await terminate(broker);
    }
  });
});

describe('the image health check', () => {
  let rpm: RpmProcess | undefined;
  afterAll(async () => {
    rpm?.child.kill('SIGTERM');
    await rpm?.exited;
  });

  it('answers 0 against a running platform and 1 when nothing listens', async () => {
    const healthcheck = /HEALTHCHECK[^\n]*\n\s*CMD (\[.*\])/.exec(read('Dockerfile'))?.[1];
    expect(healthcheck).toBeDefined();
    const [command, ...args] = JSON.parse(healthcheck!) as string[];
    expect(command).toBe('node');
    const port = await freePort();
    const check = () => spawnSync(process.execPath, args, { env: { PATH: process.env.PATH, RPM_HTTP_PORT: String(port) }, timeout: 10_000 }).status;
    expect(check()).toBe(1);
    rpm = runRpm(['start'], { RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-health-')), RPM_HTTP_PORT: String(port), RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'warn' });
    await rpm.waitFor(/health:/);
    expect(check()).toBe(0);
  });
});

describe('Grafana provisioning', () => {
  it('queries the data source it provisions, and only measurements and fields the platform writes', () => {
    const datasource = read('deploy/grafana/provisioning/datasources/influxdb.yaml');
    const uid = /uid:\s*(\S+)/.exec(datasource)?.[1];
    expect(datasource).toContain('$RPM_INFLUX_TOKEN');
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/rpm-vitals.json')) as { panels: { datasource: { uid: string }; targets: { query: string }[] }[] };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
    const fieldsWritten = new Set(['systolic', 'diastolic', 'pulse', 'value', 'reading_id']);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid).toBe(uid);
      for (const target of panel.targets) {
        for (const [, measurement] of target.query.matchAll(/_measurement == "([^"]+)"/g)) expect(MEASUREMENT_KINDS).toContain(measurement);
        for (const [, field] of target.query.matchAll(/_field == "([^"]+)"/g)) expect(fieldsWritten.has(field!)).toBe(true);
      }
    }
  });
});
