// What a newcomer gets from `npm start` (`rpm start --demo`): a running platform with simulated
// patients, and a nurse token that sees alerts appear on the live stream within seconds.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRpm, type RpmProcess } from '../support/process.js';

let demo: RpmProcess | undefined;
afterAll(async () => {
  if (demo && demo.child.exitCode === null) {
    expect(demo.output().stdout).not.toContain('incoming request');
    demo.child.kill('SIGTERM');
    await demo.exited;
  }
});

describe('rpm start --demo', () => {
  it('seeds a care team, patients and devices, simulates readings, and streams alerts to the nurse token it prints', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-demo-'));
    demo = runRpm(['start', '--demo'], { RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'warn' });
    const [, nursePassword] = await demo.waitFor(/demo-nurse\s+(\S+)\s+\(nurse\)/, 30_000);
    // The console and the sign-ins come before any log line, and no line per API request follows.
    expect(demo.output().stdout.trimStart()).toMatch(/^Care console: http:\/\/127\.0\.0\.1:\d+\/\nDemo sign-ins/);
    const [, nurseToken] = await demo.waitFor(/nurse token:\s+(\S+)/, 30_000);
    const [, streamUrl] = await demo.waitFor(/curl -N -H "Authorization: Bearer \S+" (\S+)/);
    const [, triageUrl] = await demo.waitFor(/curl -s -H "Authorization: Bearer \S+" (\S+\/v1\/triage)/);

    const controller = new AbortController();
    // Last-Event-ID 0: from the first stored event, so an alert raised before this connection counts.
    const response = await fetch(streamUrl!, { headers: { Authorization: `Bearer ${nurseToken}`, 'Last-Event-ID': '0' }, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 20_000;
    while (!/event: \w+\ndata: \{/.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    expect(text).toMatch(/event: \w+\ndata: \{"id":/);

    const triage = await fetch(triageUrl!, { headers: { Authorization: `Bearer ${nurseToken}` } });
    const body = (await triage.json()) as { patients: { careTeamId: string }[] };
    expect(body.patients.length).toBeGreaterThan(0);
    expect(body.patients.every((p) => p.careTeamId === 'simulated-team')).toBe(true);

    // Two of the patients wear a CGM: 14 days uploaded at start, one meeting every target, one running high.
    const populationUrl = new URL('/v1/cgm-population', triageUrl!).toString();
    type Population = { patients: { patientId: string; flags: string[]; summary: { readings: number; sensorWearPercent: number } }[] };
    let population: Population = { patients: [] };
    const uploaded = Date.now() + 40_000;
    while (Date.now() < uploaded) {
      population = (await (await fetch(populationUrl, { headers: { Authorization: `Bearer ${nurseToken}` } })).json()) as Population;
      if (population.patients.length === 2 && population.patients.every((row) => row.summary.readings >= 4032)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(population.patients.map((row) => [row.patientId, row.flags, row.summary.sensorWearPercent])).toEqual([
      ['sim-patient-2', ['low_tir', 'high'], 100],
      ['sim-patient-1', [], 100],
    ]);

    // The demo nurse signs in with the password printed, and her session cookie opens triage.
    const signIn = await fetch(new URL('/v1/sessions', triageUrl!), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'demo-nurse', password: nursePassword }) });
    expect(signIn.status).toBe(201);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(triageUrl!, { headers: { Cookie: cookie } })).status).toBe(200);
    for (const person of ['demo-admin', 'demo-physician', 'demo-billing', 'demo-patient']) expect(demo.output().stdout).toMatch(new RegExp(`${person}\\s+\\S{24}\\s+\\(`));

    // It printed an admin token: both listeners are on this machine's loopback only.
    const [, mqttPort] = await demo.waitFor(/MQTT:\s+mqtt:\/\/127\.0\.0\.1:(\d+)/);
    const httpPort = new URL(triageUrl!).port;
    expect(listeningAddresses(Number(mqttPort))).toEqual(['127.0.0.1']);
    expect(listeningAddresses(Number(httpPort))).toEqual(['127.0.0.1']);

    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
  }, 120_000);
});

/** The IPv4 addresses a TCP port is listened on, from the kernel's table (/proc/net/tcp, state 0A). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
    .map((fields) => {
      const hex = fields[1]!.split(':')[0]!;
      return [6, 4, 2, 0].map((offset) => Number.parseInt(hex.slice(offset, offset + 2), 16)).join('.');
    });
}
