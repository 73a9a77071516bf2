import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClinicalStore } from '../../store/index.js';
import { connect, eventually, reading } from '../support/ingest-harness.js';
import { runRpm, type RpmProcess } from '../support/process.js';

const running: RpmProcess[] = [];
afterEach(async () => {
  for (const rpm of running.splice(0)) {
    if (rpm.child.exitCode === null) {
      rpm.child.kill('SIGKILL');
      await rpm.exited;
    }
  }
});

function start(env: NodeJS.ProcessEnv, args = ['start'], nodeFlags?: readonly string[]): RpmProcess {
  const rpm = runRpm(args, env, undefined, nodeFlags);
  running.push(rpm);
  return rpm;
}

describe('rpm start (embedded default)', () => {
  it('serves /healthz and /readyz with SQLite files under RPM_DATA_DIR, and stops cleanly on SIGTERM', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'rpm-start-')), 'data');
    const rpm = start({ RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'warn' });
    const [, url] = await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/);
    expect(rpm.output().stdout).toMatch(/MQTT:\s+mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(rpm.output().stdout).not.toMatch(/started without/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { clinicalStore: 'ok', readingsStore: 'ok', broker: 'ok' } });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('rpm_ingest_spool_backlog 0');
    expect(metrics).toContain('rpm_mqtt_connected_clients');
    for (const file of ['clinical.sqlite', 'readings.sqlite', 'spool.sqlite']) expect(existsSync(join(dataDir, file))).toBe(true);
    rpm.child.kill('SIGTERM');
    expect(await rpm.exited).toBe(0);
  });

  it('says so when node was started without the platform’s options, and runs all the same', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'rpm-start-')), 'data');
    const rpm = start({ RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'warn' }, ['start'], []);
    const [, url] = await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/);
    await rpm.waitFor(/note:\s+node was started without --initial-old-space-size=128/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('holds each MQTT client to RPM_MQTT_PUBLISH_BURST publishes, then RPM_MQTT_PUBLISH_RATE a second', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'rpm-start-')), 'data');
    const setup = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
    const { device, secret } = await setup.devices.provision({ id: 'rate-cuff', kind: 'blood_pressure' });
    await setup.close();
    const rpm = start({ RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'warn', RPM_MQTT_PUBLISH_RATE: '1', RPM_MQTT_PUBLISH_BURST: '3' });
    const [, mqttUrl] = await rpm.waitFor(/MQTT:\s+(mqtt:\/\/\S+)/);
    const [, url] = await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/);
    const client = await connect(mqttUrl!, device.id, secret);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const topic = `rpm/v1/devices/${device.id}/readings`;
    // Three are the burst; the fourth, sent with them, is one too many. Back to back, not each after
    // its PUBACK: on a loaded machine three acknowledgements took over a second, the bucket refilled,
    // and the fourth was let through (a clean-clone run of session 27 waited for the close in vain).
    for (let i = 0; i < 4; i += 1) client.publish(topic, JSON.stringify(reading(device.id)), { qos: 1 });
    await closed;
    client.end(true);
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text.includes('rpm_ingest_messages_received_total 3') ? text : undefined;
    });
    expect(metrics).toContain('rpm_mqtt_refused_total{reason="rate_limited"} 1');
    expect(metrics).toContain('rpm_ingest_messages_received_total 3');
  }, 60_000);

  it('stops naming a damaged spool file and what to do, without a stack trace', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-start-'));
    writeFileSync(join(dataDir, 'spool.sqlite'), 'SQLite format 3\u0000 but then nothing of a database');
    const rpm = start({ RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'silent' });
    expect(await rpm.exited).toBe(1);
    const { stderr } = rpm.output();
    expect(stderr).toContain(`rpm: the ingest spool ${join(dataDir, 'spool.sqlite')} cannot be opened`);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('adds a person from the command line whose setup link works on the running platform', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-start-'));
    const env = { RPM_DATA_DIR: dataDir, RPM_PUBLIC_URL: 'https://rpm.hospital.example', RPM_LOG_LEVEL: 'silent' };
    const team = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
    await team.careTeams.create({ id: 'cardiology', name: 'Cardiology' });
    await team.close();
    const add = start(env, ['user', 'add', '--id', 'Nurse.Ann', '--name', 'Ann Nurse', '--role', 'nurse', '--team', 'cardiology']);
    expect(await add.exited).toBe(0);
    const [, token] = /https:\/\/rpm\.hospital\.example\/password-setup#token=([\w-]+)/.exec(add.output().stdout)!;
    const bad = start(env, ['user', 'add', '--id', 'x', '--role', 'superuser']);
    expect(await bad.exited).toBe(65);
    expect(bad.output().stderr).toMatch(/^rpm: role: must be one of/);
    const rpm = start({ ...env, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0' });
    const [, url] = await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/);
    const setup = await fetch(`${url}/v1/password-setup`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token, password: 'a long day on the ward' }) });
    expect(setup.status).toBe(200);
    const signIn = await fetch(`${url}/v1/sessions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'nurse.ann', password: 'a long day on the ward' }) });
    expect(signIn.status).toBe(201);
    // RPM_PUBLIC_URL is https: the cookie is Secure.
    expect(signIn.headers.get('set-cookie')).toMatch(/; Secure$/);
  }, 90_000);

  it('enrols patients with their devices from a CSV file, all or nothing, the secrets written with mode 0600', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-import-'));
    const env = { RPM_DATA_DIR: dataDir, RPM_LOG_LEVEL: 'silent' };
    const team = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
    await team.careTeams.create({ id: 'cardiology', name: 'Cardiology' });
    await team.close();
    const bad = join(dataDir, 'bad.csv');
    writeFileSync(bad, 'patientId,name,birthDate,timezone,careTeamId,deviceId,deviceKind\nmrn-1,Ada Example,1948-03-02,America/New_York,cardiology,cuff-1,blood_pressure\nmrn-2,Ben Example,02/03/1950,Mars/Olympus,oncology,cuff-1,toaster\n');
    const refused = start(env, ['import', '--file', bad]);
    expect(await refused.exited).toBe(65);
    expect(refused.output().stderr.split('\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rpm: nothing imported from .*bad\.csv; 5 problems:$/),
        '  line 3, timezone: "Mars/Olympus" is not an IANA time zone such as America/New_York',
        expect.stringMatching(/^ {2}line 3, birthDate: /),
        '  line 3, careTeamId: no care team oncology',
        '  line 3, deviceId: also on line 2: a device belongs to one patient',
        expect.stringMatching(/^ {2}line 3, deviceKind: "toaster" is not a measurement kind/),
      ]),
    );
    const good = join(dataDir, 'patients.csv');
    writeFileSync(good, 'patientId,name,birthDate,timezone,careTeamId,deviceId,deviceKind,deviceModel\nmrn-1,Ada Example,1948-03-02,America/New_York,cardiology,cuff-1,blood_pressure,omron-bp7250\nmrn-1,,,,,scale-1,weight,\nmrn-2,"Example, Ben",1950-02-03,America/Chicago,cardiology,,,\n');
    const secretsFile = join(dataDir, 'secrets.csv');
    const imported = start(env, ['import', '--file', good, '--secrets-file', secretsFile]);
    expect(await imported.exited).toBe(0);
    expect(imported.output().stdout).toContain('imported 2 patients and 2 devices');
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    const secrets = readFileSync(secretsFile, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','));
    expect(secrets.map(([id, kind, patientId]) => [id, kind, patientId])).toEqual([
      ['cuff-1', 'blood_pressure', 'mrn-1'],
      ['scale-1', 'weight', 'mrn-1'],
    ]);
    const store = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
    try {
      expect((await store.patients.get('mrn-2'))?.name).toBe('Example, Ben');
      expect(await store.devices.authenticate('cuff-1', secrets[0]![3]!)).toMatchObject({ id: 'cuff-1' });
      expect((await store.devices.assignmentsOfPatient('mrn-1')).map((a) => a.deviceId).sort()).toEqual(['cuff-1', 'scale-1']);
    } finally {
      await store.close();
    }
    // The same file again: every device exists now, and nothing is half-imported.
    const again = start(env, ['import', '--file', good]);
    expect(await again.exited).toBe(65);
    expect(again.output().stderr).toContain('line 2, patientId: patient mrn-1 already exists');
  }, 60_000);

  it('stops with a message naming RPM_HTTP_PORT when it is not a port', async () => {
    const rpm = start({ RPM_HTTP_PORT: 'abc', RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-start-')) });
    expect(await rpm.exited).toBe(78);
    expect(rpm.output().stderr).toMatch(/RPM_HTTP_PORT must be a whole number from 0 to 65535.*"abc"/);
  });

  it.each(['RPM_HTTP_PORT', 'RPM_MQTT_PORT'])('says clearly that the port of %s is taken', async (variable) => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '0.0.0.0', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const rpm = start({ RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', [variable]: String(port), RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-start-')), RPM_LOG_LEVEL: 'silent' });
      expect(await rpm.exited).toBe(1);
      expect(rpm.output().stderr).toContain(`${variable} ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('prints an access token signed with the secret the platform uses', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-token-'));
    const rpm = start({ RPM_DATA_DIR: dataDir }, ['token', '--role', 'nurse', '--team', 'team-a', '--team', 'team-b', '--sub', 'nurse-7']);
    expect(await rpm.exited).toBe(0);
    const token = rpm.output().stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: 'nurse-7', role: 'nurse', careTeams: ['team-a', 'team-b'] });
    const { createTokenVerifier } = await import('../../dashboard-api/index.js');
    const { readFileSync } = await import('node:fs');
    await expect(createTokenVerifier(readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim())(token)).resolves.toMatchObject({ sub: 'nurse-7' });
    const bad = start({ RPM_DATA_DIR: dataDir }, ['token', '--role', 'superuser']);
    expect(await bad.exited).toBe(64);
    expect(bad.output().stderr).toContain('--role must be one of admin, nurse, physician, billing');
  });

  it('exports billing from the command line, as CSV or JSON', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-billing-'));
    const csv = start({ RPM_DATA_DIR: dataDir }, ['billing', 'export', '--month', '2026-11']);
    expect(await csv.exited).toBe(0);
    expect(csv.output().stdout.split('\r\n')[0]).toBe('patient_id,patient_name,code,units,group,period_start,period_end,device_days,minutes,interactive,evidence,reasons,rule_set_version');
    const json = start({ RPM_DATA_DIR: dataDir }, ['billing', 'export', '--month', '2026-11', '--format', 'json']);
    expect(await json.exited).toBe(0);
    expect(JSON.parse(json.output().stdout)).toMatchObject({ month: '2026-11', ruleSetVersion: 'medicare-rpm-2026.1', rows: [] });
    const bad = start({ RPM_DATA_DIR: dataDir }, ['billing', 'export', '--month', 'November']);
    expect(await bad.exited).toBe(64);
  });

  it('decodes a GATT value with a model’s quirks, and refuses a malformed frame with a non-zero exit', async () => {
    const bm85 = '566A0047000000EA07080B121F00003F000000';
    const ok = start({}, ['decode', '--characteristic', '2A35', '--hex', bm85, '--model', 'beurer-bm85', '--timezone', 'America/New_York']);
    expect(await ok.exited).toBe(0);
    expect(JSON.parse(ok.output().stdout)).toEqual({ kind: 'blood_pressure', measuredAt: '2026-08-11T18:31:00-04:00', systolic: 106, diastolic: 71, pulse: 63, irregularHeartbeat: false, bodyMovement: false, unit: 'mmHg', userId: 0 });
    const strict = start({}, ['decode', '--characteristic', '2A35', '--hex', bm85]);
    expect(await strict.exited).toBe(65);
    expect(strict.output().stderr).toContain('malformed 2A35 frame: reserved flag bits set');
    const short = start({}, ['decode', '--characteristic', '2A35', '--hex', '010203040506']);
    expect(await short.exited).toBe(65);
  });

  it('explains what a role split needs', async () => {
    const noBroker = start({ RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-role-')) }, ['start', '--role', 'rules']);
    expect(await noBroker.exited).toBe(1);
    expect(noBroker.output().stderr).toContain('RPM_MQTT_URL');
    const broker = start({ RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-role-')), RPM_MQTT_URL: 'mqtt://rpm:secret@127.0.0.1:1883', RPM_MQTT_PORT: '0' }, ['start', '--role', 'broker']);
    expect(await broker.exited).toBe(1);
    expect(broker.output().stderr).toContain('RPM_MQTT_PORT');
    const badRole = start({}, ['start', '--role', 'everything']);
    expect(await badRole.exited).toBe(64);
    const badPartitions = start({}, ['start', '--role', 'rules', '--partitions', '3-99']);
    expect(await badPartitions.exited).toBe(78);
    expect(badPartitions.output().stderr).toContain('--partitions');
  });

  it('helps on every command, and answers a user mistake with usage and exit 64, never a stack trace', async () => {
    const commands = [['start'], ['migrate'], ['import'], ['token'], ['simulate'], ['gateway'], ['decode'], ['billing'], ['billing', 'export'], ['mosquitto-files'], ['user'], ['user', 'add'], ['user', 'reset']];
    // All at once: sixteen process starts one after another took over 30 s on a loaded CI machine.
    await Promise.all(
      commands.map(async (command) => {
        const help = start({}, [...command, '--help']);
        expect([command.join(' '), await help.exited]).toEqual([command.join(' '), 0]);
        expect(help.output().stdout).toContain(`Usage: rpm ${command.join(' ')}`);
      }),
    );
    await Promise.all(
      [['start', '--bogus'], ['frobnicate'], ['user', 'add', '--id', 'x'], ['token', '--role']].map(async (mistake) => {
        const wrong = start({}, mistake);
        expect([mistake.join(' '), await wrong.exited]).toEqual([mistake.join(' '), 64]);
        expect(wrong.output().stderr).toContain('rpm <command> --help');
        expect(wrong.output().stderr).not.toMatch(/\n\s+at /);
      }),
    );
  }, 120_000);

  it('refuses a bad gateway configuration with a message naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpm-gwcfg-'));
    const missing = start({}, ['gateway']);
    expect(await missing.exited).toBe(64);
    expect(missing.output().stderr).toContain("required option '--config <file>' not specified");
    const write = (name: string, body: unknown) => {
      const path = join(dir, name);
      writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
      return path;
    };
    const base = { gatewayId: 'gw-1', secret: 's'.repeat(32), mqttUrl: 'mqtt://127.0.0.1:1883', timezone: 'America/New_York', devices: [{ address: 'AA:BB:CC:DD:EE:01', model: 'omron-bp7250', deviceId: 'cuff-1' }] };
    const cases: [string, unknown, string][] = [
      ['notjson.json', '{', 'is not valid JSON'],
      ['zone.json', { ...base, timezone: 'Mars/Olympus' }, 'timezone: must be an IANA time zone'],
      ['mac.json', { ...base, devices: [{ ...base.devices[0], address: 'nope' }] }, 'devices.0.address: must be a Bluetooth address'],
      ['model.json', { ...base, devices: [{ ...base.devices[0], model: 'no-such-cuff' }] }, 'devices.0.model: unknown model "no-such-cuff"'],
      ['passkey.json', { ...base, devices: [{ address: 'AA:BB:CC:DD:EE:02', model: 'accu-chek-guide', deviceId: 'meter-1' }] }, 'devices.0.passkey'],
      ['both.json', { ...base, devices: [{ ...base.devices[0], users: { '1': 'cuff-1-u1' } }] }, 'exactly one of deviceId'],
    ];
    // Side by side: each is a process start of a few seconds on a loaded machine.
    const runs = cases.map(([name, body, message]) => ({ rpm: start({}, ['gateway', '--config', write(name, body)]), message }));
    for (const { rpm, message } of runs) {
      expect(await rpm.exited).toBe(78);
      expect(rpm.output().stderr).toContain(message);
    }
    const nofile = start({}, ['gateway', '--config', join(dir, 'absent.json')]);
    expect(await nofile.exited).toBe(78);
    expect(nofile.output().stderr).toContain('cannot read');
  }, 90_000);
});
