#!/usr/bin/env -S node --initial-old-space-size=128
// The `rpm` command line (ARCHITECTURE.md, "Command line"): the composition root of the platform.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Command, CommanderError } from 'commander';
import { ROLES, setupLink, signAccessToken, type Role } from '../dashboard-api/index.js';
import { RpmError, isRpmError, loadDeviceProfiles, type DeviceQuirk } from '../device-profiles/index.js';
import { CHARACTERISTICS, GATEWAY_ERRORS, MalformedFrame, decodeCharacteristic, toReadingDraft } from '../gateway/index.js';
import { ClinicalStore, ENROLLMENT_COLUMNS, ImportRefused, STORE_ERRORS, type ImportResult } from '../store/index.js';
import { CLI_ERRORS, loadConfig, resolveJwtSecret, type PlatformConfig } from './config.js';
import { runGateway } from './gateway-command.js';
import { ROLES as ROLES_OF_PLATFORM, parsePartitions, type PlatformRole } from './roles.js';
import { startRole } from './start-role.js';
import { mosquittoFiles, platformUserOf, writeMosquittoFiles } from './mosquitto-files.js';
import { DemoLogStream, createLogger } from './logger.js';
import { PLATFORM_NODE_FLAGS, startedWithPlatformFlags } from './node-flags.js';
import { politeFetch } from './polite-fetch.js';
import { SIMULATED_TEAM_ID, startSimulator } from './simulator.js';
import { StartupError, openReadingsStore, startPlatform } from './start.js';
import { billingCsv, exportBilling } from '../billing/index.js';

/** sysexits.h EX_USAGE and EX_CONFIG: a supervisor should not restart-loop on either. */
const EXIT_USAGE = 64;
const EXIT_CONFIG = 78;
const EXIT_FAILURE = 1;

class UsageError extends Error {}

function config(): PlatformConfig {
  return loadConfig(process.env);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
}

/**
 * The demo must start on a machine that already runs an MQTT broker or a web server: a default
 * port that is taken (and not set explicitly) becomes a free one, and the banner says which.
 */
async function demoPorts(settings: PlatformConfig): Promise<string[]> {
  const notes: string[] = [];
  if (!process.env.RPM_MQTT_PORT && !(await portIsFree(settings.mqttPort))) {
    notes.push(`port ${settings.mqttPort} is taken (another MQTT broker?): the demo broker uses a free port instead`);
    settings.mqttPort = 0;
  }
  if (!process.env.RPM_HTTP_PORT && !(await portIsFree(settings.httpPort))) {
    notes.push(`port ${settings.httpPort} is taken: the demo API uses a free port instead`);
    settings.httpPort = 0;
  }
  return notes;
}

/** The people of the demo, one of each role, signed in with a password generated now. */
const DEMO_PEOPLE = [
  { id: 'demo-admin', name: 'Demo Admin', role: 'admin' },
  { id: 'demo-nurse', name: 'Demo Nurse', role: 'nurse', careTeams: [SIMULATED_TEAM_ID] },
  { id: 'demo-physician', name: 'Demo Physician', role: 'physician', careTeams: [SIMULATED_TEAM_ID] },
  { id: 'demo-billing', name: 'Demo Billing', role: 'billing', careTeams: [SIMULATED_TEAM_ID] },
  { id: 'demo-patient', name: 'Demo Patient', role: 'patient' },
] as const;

/**
 * Creates (or, on a second run, resets) the demo people through the API as an administrator would,
 * and sets each a fresh random password: returns the sign-ins to print once.
 */
async function demoPeople(apiUrl: string, adminToken: string, patientId: string): Promise<{ id: string; role: string; password: string }[]> {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await politeFetch(`${apiUrl}${path}`, { method, headers: { Authorization: `Bearer ${adminToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const people = [];
  for (const person of DEMO_PEOPLE) {
    let created = await call('POST', '/v1/users', { ...person, ...(person.role === 'patient' ? { patientId } : {}) });
    if (created.status === 409) created = await call('POST', `/v1/users/${person.id}/password-reset`);
    if (created.status >= 300) throw new Error(`could not create the demo user ${person.id}: ${JSON.stringify(created.body)}`);
    // 18 random bytes: 24 characters nobody could guess, that pass every password rule.
    const password = randomBytes(18).toString('base64url');
    const setup = await politeFetch(`${apiUrl}/v1/password-setup`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: created.body.setupToken, password }) });
    if (!setup.ok) throw new Error(`could not set the password of the demo user ${person.id}: ${await setup.text()}`);
    people.push({ id: person.id, role: person.role, password });
  }
  return people;
}

/** Patients, devices and simulated readings, and what a newcomer needs to see them. */
async function startDemo(platform: Awaited<ReturnType<typeof startPlatform>>, jwtSecret: string): Promise<() => Promise<void>> {
  const simulator = await startSimulator({ apiUrl: platform.httpUrl, mqttUrl: platform.mqttUrl, jwtSecret, patients: 4, ratePerSecond: 2, cgmPatients: 2 });
  const adminToken = await signAccessToken(jwtSecret, { sub: 'demo-admin', role: 'admin', careTeams: [] });
  const nurseToken = await signAccessToken(jwtSecret, { sub: 'demo-nurse', role: 'nurse', careTeams: [SIMULATED_TEAM_ID] });
  const people = await demoPeople(platform.httpUrl, adminToken, simulator.patientIds[0]!);
  console.log(`
Care console: ${platform.httpUrl}/
Demo sign-ins (passwords generated now, shown once):
${people.map((person) => `  ${person.id.padEnd(15)} ${person.password}   (${person.role})`).join('\n')}

Demo: care team "${SIMULATED_TEAM_ID}", ${simulator.patientIds.length} patients, each with a cuff, a glucometer and a scale,
publishing a reading every 0.5 s (about 8 % abnormal: alerts appear within seconds).

  API docs:     ${platform.httpUrl}/docs
  admin token:  ${adminToken}
  nurse token:  ${nurseToken}

For the README's examples, paste into your shell:
  export RPM_URL=${platform.httpUrl} MQTT_PORT=${new URL(platform.mqttUrl).port} ADMIN_TOKEN=${adminToken} NURSE_TOKEN=${nurseToken}

Triage list (patients ranked by open-alert severity):
  curl -s -H "Authorization: Bearer ${nurseToken}" ${platform.httpUrl}/v1/triage

Live alert stream (Server-Sent Events):
  curl -N -H "Authorization: Bearer ${nurseToken}" ${platform.httpUrl}/v1/alerts/stream
`);
  return () => simulator.stop();
}

const FLAGS_NOTE = `  note:      node was started without ${PLATFORM_NODE_FLAGS.join(' ')}: the API's latency has longer tails under load (docs/deployment.md)`;

async function runStart(values: { demo?: boolean; role?: string; partitions?: string }): Promise<void> {
  if (values.role) {
    if (!(ROLES_OF_PLATFORM as readonly string[]).includes(values.role)) throw new UsageError(`--role must be one of ${ROLES_OF_PLATFORM.join(', ')}`);
    if (values.demo) throw new UsageError('--demo runs the whole platform in one process; it does not combine with --role');
    if (values.partitions && values.role !== 'rules') throw new UsageError('--partitions applies to --role rules only');
    const settings = config();
    if (values.partitions && settings.nats) throw new UsageError('--partitions: with RPM_NATS_URL the rules processes share the partitions by themselves (leases); leave it out');
    const running = await startRole(settings, values.role as PlatformRole, parsePartitions(values.partitions));
    console.log(`RPM ${running.role} role running\n  health:    ${running.httpUrl}/healthz\n  readiness: ${running.httpUrl}/readyz${running.mqttPort ? `\n  devices:   mqtt port ${running.mqttPort}` : ''}`);
    if (!startedWithPlatformFlags()) console.log(FLAGS_NOTE);
    const stop = (signal: string) => {
      console.log(`${signal}: stopping`);
      running.stop().then(
        () => process.exit(0),
        () => process.exit(EXIT_FAILURE),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    return;
  }
  if (values.partitions) throw new UsageError('--partitions applies to --role rules only');
  const configured = config();
  // The demo prints an admin token: it listens on this machine only unless told otherwise.
  const settings = values.demo && configured.listenHost === undefined ? { ...configured, listenHost: '127.0.0.1' } : configured;
  const notes = values.demo ? await demoPorts(settings) : [];
  // The demo's console address and sign-ins come first, before any log line: they are what a newcomer needs.
  const demoLogs = values.demo ? new DemoLogStream() : undefined;
  const platform = await startPlatform(settings, demoLogs ? { logDestination: demoLogs, logRequests: false } : {});
  const stopDemo = values.demo ? await startDemo(platform, resolveJwtSecret(settings).secret) : async () => undefined;
  console.log(
    `RPM platform running\n  console:   ${platform.httpUrl}/\n  MQTT:      ${platform.mqttUrl}  (devices publish to rpm/v1/devices/{deviceId}/readings)\n  health:    ${platform.httpUrl}/healthz\n  readiness: ${platform.httpUrl}/readyz\n  API docs:  ${platform.httpUrl}/docs`,
  );
  for (const note of notes) console.log(`  note:      ${note}`);
  if (!startedWithPlatformFlags()) console.log(FLAGS_NOTE);
  console.log('Press Ctrl-C to stop.');
  if (demoLogs) {
    console.log('Logs follow (no line per API request in the demo):');
    demoLogs.release();
  }
  const shutdown = (signal: string) => {
    console.log(`${signal}: stopping`);
    stopDemo()
      .then(() => platform.stop())
      .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`error while stopping: ${(error as Error).message}`);
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

async function runToken(values: { role?: string; team?: string[]; sub?: string; expires?: string; patient?: string }): Promise<void> {
  if (!values.role || !(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  if (values.expires && !/^\d+[smhd]$/.test(values.expires)) throw new UsageError('--expires must be a duration such as 30m, 12h or 7d');
  const secret = resolveJwtSecret(config()).secret;
  const role = values.role as Role;
  if ((role === 'patient') !== (values.patient !== undefined)) throw new UsageError('--patient P is required with --role patient, and only with it');
  console.log(await signAccessToken(secret, { sub: values.sub ?? `${role}-cli`, role, careTeams: values.team ?? [], ...(values.patient ? { patientId: values.patient } : {}) }, values.expires ?? '12h'));
}

async function runSimulate(values: { patients?: string; rate?: string; url?: string; api?: string }): Promise<void> {
  const patients = Number(values.patients ?? 3);
  const rate = Number(values.rate ?? 1);
  if (!Number.isInteger(patients) || patients < 1 || patients > 10_000) throw new UsageError('--patients must be a whole number from 1 to 10000');
  if (!(rate > 0 && rate <= 1000)) throw new UsageError('--rate must be readings per second, above 0 and at most 1000');
  const settings = config();
  const simulator = await startSimulator({
    apiUrl: values.api ?? `http://127.0.0.1:${settings.httpPort}`,
    mqttUrl: values.url ?? `mqtt://127.0.0.1:${settings.mqttPort}`,
    jwtSecret: resolveJwtSecret(settings).secret,
    patients,
    ratePerSecond: rate,
    log: (line) => console.log(line),
  });
  console.log('Press Ctrl-C to stop.');
  process.once('SIGINT', () => void simulator.stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void simulator.stop().then(() => process.exit(0)));
}

async function runBillingExport(values: { month?: string; format?: string }): Promise<void> {
  if (!values.month || !/^\d{4}-(0[1-9]|1[0-2])$/.test(values.month)) throw new UsageError('--month must be YYYY-MM');
  const format = values.format ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw new UsageError('--format must be csv or json');
  const settings = config();
  const clinicalStore = await ClinicalStore.open(settings.clinicalDatabase);
  const readingsStore = openReadingsStore(settings, clinicalStore);
  try {
    const report = await exportBilling({ clinicalStore, readingsStore }, { month: values.month });
    process.stdout.write(format === 'csv' ? billingCsv(report) : `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await readingsStore.close();
    await clinicalStore.close();
  }
}

/** sysexits.h EX_DATAERR: the input (a GATT frame) is malformed. */
const EXIT_DATA = 65;

async function runDecode(values: { characteristic?: string; hex?: string; model?: string; timezone?: string }): Promise<void> {
  if (!values.characteristic || !(CHARACTERISTICS as readonly string[]).includes(values.characteristic.toUpperCase())) {
    throw new UsageError(`--characteristic must be one of ${CHARACTERISTICS.join(', ')}`);
  }
  const hexText = (values.hex ?? '').replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(hexText)) throw new UsageError('--hex must be the value as hexadecimal bytes, e.g. 1E8A0058…');
  const timezone = values.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  let quirks: readonly DeviceQuirk[] = [];
  if (values.model) {
    const profile = loadDeviceProfiles().get(values.model);
    if (!profile) throw new UsageError(`--model: no device profile "${values.model}" (${loadDeviceProfiles().list().map((p) => p.id).join(', ')})`);
    quirks = profile.quirks;
  }
  const bytes = Buffer.from(hexText, 'hex');
  try {
    const draft = toReadingDraft(values.characteristic, bytes, { quirks, timezone });
    const output = draft
      ? { kind: draft.kind, ...(draft.measuredAt ? { measuredAt: draft.measuredAt } : {}), ...draft.fields, ...(draft.clockUnset ? { clockUnset: true } : {}), ...(draft.userId !== undefined ? { userId: draft.userId } : {}), ...(draft.sequenceNumber !== undefined ? { sequenceNumber: draft.sequenceNumber } : {}) }
      : decodeCharacteristic(values.characteristic, bytes, quirks);
    console.log(JSON.stringify(output, null, 2));
  } catch (error) {
    if (error instanceof MalformedFrame) {
      console.error(`rpm: ${error.message}${quirks.length === 0 ? ' (if a device model explains it, pass --model: its profile switches the quirk on)' : ''}`);
      process.exit(EXIT_DATA);
    }
    throw error;
  }
}

async function runUser(action: 'add' | 'reset', options: { id?: string; name?: string; role?: string; team?: string[]; patient?: string }): Promise<void> {
  if (!options.id) throw new UsageError('--id is required (the login name)');
  if (action === 'add' && !options.role) throw new UsageError('--role is required');
  const settings = config();
  const store = await ClinicalStore.open(settings.clinicalDatabase);
  try {
    const by = `cli:${process.env.USER ?? 'unknown'}`;
    const token =
      action === 'add'
        ? (await store.users.create({ id: options.id, name: options.name ?? options.id, role: options.role!, careTeams: options.team ?? [], patientId: options.patient ?? null }, by)).setupToken
        : await store.users.resetPassword(options.id, by);
    await store.audit.append({ actor: by, actorRole: 'admin', action: action === 'add' ? 'user.create' : 'password.reset', resourceType: 'user', resourceId: options.id.toLowerCase(), patientId: options.patient ?? null, sourceIp: null, requestId: null, outcome: 'allowed' });
    console.log(`${action === 'add' ? 'created' : 'reset'} ${options.id.toLowerCase()}; send them this link to set a password (valid until ${token.expiresAt}, shown once):`);
    console.log(`  ${setupLink(settings.publicUrl, token.token)}`);
  } finally {
    await store.close();
  }
}

async function runImport(options: { file: string; secretsFile?: string }): Promise<void> {
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (error) {
    throw new UsageError(`--file ${options.file}: ${(error as Error).message}`);
  }
  const settings = config();
  const store = await ClinicalStore.open(settings.clinicalDatabase);
  try {
    const by = `cli:${process.env.USER ?? 'unknown'}`;
    let result: ImportResult;
    try {
      result = await store.importEnrollment(text, by);
    } catch (error) {
      if (!(error instanceof ImportRefused)) throw error;
      console.error(`rpm: nothing imported from ${options.file}; ${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}:`);
      for (const problem of error.problems) console.error(`  line ${problem.line}, ${problem.field}: ${problem.message}`);
      process.exitCode = EXIT_DATA;
      return;
    }
    await store.audit.append({ actor: by, actorRole: 'admin', action: 'enrollment.import', resourceType: 'patient', resourceId: null, patientId: null, sourceIp: null, requestId: null, outcome: 'allowed' });
    console.log(`imported ${result.patients.length} patients and ${result.devices.length} devices from ${options.file}`);
    if (result.devices.length === 0) return;
    const lines = ['deviceId,kind,patientId,secret', ...result.devices.map((d) => `${d.id},${d.kind},${d.patientId},${d.secret}`)].join('\n') + '\n';
    if (options.secretsFile) {
      // Created, never overwritten, readable by this user alone: the secrets exist nowhere else.
      writeFileSync(options.secretsFile, lines, { mode: 0o600, flag: 'wx' });
      console.log(`the devices' MQTT secrets (shown nowhere else) are in ${options.secretsFile} (mode 0600)`);
    } else {
      console.log("the devices' MQTT secrets, shown this once:");
      process.stdout.write(lines);
    }
  } finally {
    await store.close();
  }
}

async function runMigrate(): Promise<void> {
  const settings = config();
  const store = await ClinicalStore.open(settings.clinicalDatabase);
  await store.close();
  console.log(`clinical database (${settings.clinicalDatabase.dialect}) is up to date`);
}

async function runMosquittoFiles(values: { out?: string }): Promise<void> {
  if (!values.out) throw new UsageError('--out DIR is required (where Mosquitto reads its password_file and acl_file)');
  const settings = config();
  const platform = platformUserOf(settings.mqttUrl);
  if (!platform) throw new RpmError(CLI_ERRORS.CONFIG, 'RPM_MQTT_URL must name the platform\'s own broker user and password (mqtt://user:password@host:1883): they go into the password file');
  const store = await ClinicalStore.open(settings.clinicalDatabase);
  try {
    const files = await mosquittoFiles(store, platform);
    const { passwordFile, aclFile } = writeMosquittoFiles(values.out, files);
    console.log(`wrote ${passwordFile} and ${aclFile}; reload Mosquitto (SIGHUP) to apply`);
    if (files.missing.length > 0) {
      console.error(`rpm: ${files.missing.length} device(s) were provisioned before broker hashes existed and are left out until their secret is rotated (POST /v1/devices with the same id): ${files.missing.slice(0, 20).join(', ')}${files.missing.length > 20 ? ', …' : ''}`);
    }
  } finally {
    await store.close();
  }
}

/** Repeated options (`--team a --team b`) collect into a list. */
const collect = (value: string, previous: string[]) => [...previous, value];

/** The command line: every command and option with its help (`rpm <command> --help`). */
export function program(): Command {
  const rpm = new Command('rpm')
    .description('Remote patient monitoring: ingest, rules, alerts, API and care console.\nConfiguration comes from RPM_* environment variables (README, "Configuration").')
    .exitOverride()
    .showHelpAfterError('(rpm --help, or rpm <command> --help, for usage)')
    .configureHelp({ sortSubcommands: false });
  rpm
    .command('start')
    .description('run the platform: embedded broker, ingest, rules engine, API and care console in one process')
    .option('--demo', 'also seed a care team with simulated patients, and print sign-ins, tokens and examples')
    .option('--role <role>', `one part of the platform per process: ${ROLES_OF_PLATFORM.join(', ')}`)
    .option('--partitions <list>', 'with --role rules: the partitions this process evaluates, such as 0-7 or 0,3,5')
    .action((options: { demo?: boolean; role?: string; partitions?: string }) => runStart(options));
  rpm.command('migrate').description('apply the clinical database migrations and exit').action(() => runMigrate());
  rpm
    .command('import')
    .description(`enrol patients with their devices from a CSV file (columns ${ENROLLMENT_COLUMNS.join(', ')}), all or nothing`)
    .requiredOption('--file <patients.csv>', 'the CSV file; the first line names the columns')
    .option('--secrets-file <file>', "write the devices' MQTT secrets there (created with mode 0600) instead of printing them")
    .action((options: { file: string; secretsFile?: string }) => runImport(options));
  rpm
    .command('token')
    .description('print an access token signed with the configured secret (development and tests)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--team <id>', 'a care team (repeat for more)', collect, [])
    .option('--patient <id>', 'with --role patient: the patient')
    .option('--sub <subject>', 'the token subject (default <role>-cli)')
    .option('--expires <duration>', 'lifetime such as 30m, 12h or 7d', '12h')
    .action((options: { role?: string; team?: string[]; sub?: string; expires?: string; patient?: string }) => runToken(options));
  rpm
    .command('simulate')
    .description('simulated cuffs, meters and scales: provisions patients through the API and publishes realistic readings')
    .option('--patients <n>', 'how many patients, 1–10000', '3')
    .option('--rate <r>', 'readings per second in all, above 0 and at most 1000', '1')
    .option('--url <mqtt-url>', 'the broker (default mqtt://127.0.0.1:RPM_MQTT_PORT)')
    .option('--api <http-url>', 'the API (default http://127.0.0.1:RPM_HTTP_PORT)')
    .action((options: { patients?: string; rate?: string; url?: string; api?: string }) => runSimulate(options));
  rpm
    .command('gateway')
    .description('the BLE home gateway (docs/gateway.md)')
    .requiredOption('--config <file>', 'the gateway configuration file')
    .option('--simulate', 'virtual devices on a private D-Bus with a simulated BlueZ')
    .action((options: { config: string; simulate?: boolean }) => runGateway(options, createLogger(process.env['RPM_LOG_LEVEL'] ?? 'info')));
  rpm
    .command('decode')
    .description('decode one GATT value and print the reading as JSON (exit 65 for a malformed frame)')
    .requiredOption('--characteristic <uuid>', `one of ${CHARACTERISTICS.join(', ')}`)
    .requiredOption('--hex <bytes>', 'the value as hexadecimal bytes, e.g. 1E8A0058…')
    .option('--model <profile>', "a device model whose profile's quirks apply")
    .option('--timezone <tz>', "the device's IANA time zone (default this machine's)")
    .action((options: { characteristic?: string; hex?: string; model?: string; timezone?: string }) => runDecode(options));
  rpm
    .command('billing')
    .description('Medicare RPM billing')
    .command('export')
    .description('the billing export of a month, all patients, from the configured stores')
    .requiredOption('--month <YYYY-MM>', 'the month')
    .option('--format <format>', 'csv or json', 'csv')
    .action((options: { month?: string; format?: string }) => runBillingExport(options));
  rpm
    .command('mosquitto-files')
    .description("an external Mosquitto's password and ACL files, from the device registry")
    .requiredOption('--out <dir>', 'where Mosquitto reads its password_file and acl_file')
    .action((options: { out?: string }) => runMosquittoFiles(options));
  const user = rpm.command('user').description('people who sign in');
  user
    .command('add')
    .description('a person who signs in: prints their one-time setup link (24 hours)')
    .requiredOption('--id <login>', 'the login name')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--name <name>', 'the name shown (default the login name)')
    .option('--team <id>', 'a care team (repeat for more)', collect, [])
    .option('--patient <id>', 'with --role patient: the patient')
    .action((options: { id?: string; name?: string; role?: string; team?: string[]; patient?: string }) => runUser('add', options));
  user
    .command('reset')
    .description('a new setup link; the old password stops working and their sessions end')
    .requiredOption('--id <login>', 'the login name')
    .action((options: { id?: string }) => runUser('reset', options));
  return rpm;
}

export async function main(argv: string[]): Promise<void> {
  await program().parseAsync(argv, { from: 'user' });
}

function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof CommanderError) return EXIT_USAGE;
  if (isRpmError(error, CLI_ERRORS.CONFIG) || isRpmError(error, GATEWAY_ERRORS.GATEWAY_CONFIG)) return EXIT_CONFIG;
  if (isRpmError(error, STORE_ERRORS.INVALID_INPUT) || isRpmError(error, STORE_ERRORS.CONFLICT) || isRpmError(error, STORE_ERRORS.NOT_FOUND)) return EXIT_DATA;
  return EXIT_FAILURE;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Help and the version are answers, not errors; commander has printed them and its own errors.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
  const known = error instanceof UsageError || error instanceof StartupError || isRpmError(error);
  console.error(`rpm: ${known ? (error as Error).message : (error as Error).stack ?? String(error)}${error instanceof UsageError ? '\n(rpm <command> --help for usage)' : ''}`);
  process.exit(exitCodeFor(error));
});
