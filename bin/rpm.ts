#!/usr/bin/env node
// The `rpm` command line (ARCHITECTURE.md, "Command line"): the composition root of the platform.
import { parseArgs } from 'node:util';
import { isRpmError } from '../device-profiles/index.js';
import { ClinicalStore } from '../store/index.js';
import { loadConfig, type PlatformConfig } from './config.js';
import { StartupError, startPlatform } from './start.js';

/** sysexits.h EX_USAGE and EX_CONFIG: a supervisor should not restart-loop on either. */
const EXIT_USAGE = 64;
const EXIT_CONFIG = 78;
const EXIT_FAILURE = 1;

const USAGE = `Usage: rpm <command> [options]

Commands:
  start [--demo] [--role R]      run the platform (embedded broker, ingest, rules and API in one process)
  migrate                        apply the clinical database migrations
  token --role R [--team T …]    print a development JWT                         (not built yet: issue #5)
  simulate --patients N          simulated devices publishing readings           (not built yet: issue #5)
  gateway --config FILE          the BLE home gateway                            (not built yet: issue #6)
  decode --characteristic 2A35 --hex …  decode one GATT value                    (not built yet: issue #6)
  billing export --month YYYY-MM the Medicare RPM billing export                 (not built yet: issue #7)

Configuration comes from RPM_* environment variables; see the README.`;

const NOT_BUILT: Readonly<Record<string, string>> = {
  token: 'issue #5 (dashboard API)',
  simulate: 'issue #5 (dashboard API and demo)',
  gateway: 'issue #6 (BLE gateway)',
  decode: 'issue #6 (BLE gateway)',
  billing: 'issue #7 (billing)',
};

class UsageError extends Error {}

function config(): PlatformConfig {
  return loadConfig(process.env);
}

async function runStart(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { demo: { type: 'boolean' }, role: { type: 'string' } }, strict: true });
  if (values.demo) throw new StartupError('rpm start --demo is not built yet (issue #5); run "rpm start" for the platform without demo data');
  if (values.role) throw new StartupError('rpm start --role is not built yet (issue #9); "rpm start" runs every role in one process');
  const platform = await startPlatform(config());
  console.log(
    `RPM platform running\n  MQTT:      ${platform.mqttUrl}  (devices publish to rpm/v1/devices/{deviceId}/readings)\n  health:    ${platform.httpUrl}/healthz\n  readiness: ${platform.httpUrl}/readyz\nPress Ctrl-C to stop.`,
  );
  const shutdown = (signal: string) => {
    console.log(`${signal}: stopping`);
    platform.stop().then(
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

async function runMigrate(args: string[]): Promise<void> {
  parseArgs({ args, options: {}, strict: true });
  const settings = config();
  const store = await ClinicalStore.open(settings.clinicalDatabase);
  await store.close();
  console.log(`clinical database (${settings.clinicalDatabase.dialect}) is up to date`);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (command === 'start') return runStart(rest);
  if (command === 'migrate') return runMigrate(rest);
  const issue = NOT_BUILT[command];
  if (issue) throw new UsageError(`rpm ${command} is not built yet: it comes with ${issue}.`);
  throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return EXIT_USAGE;
  if (isRpmError(error, 'RPM_ERR_CONFIG')) return EXIT_CONFIG;
  return EXIT_FAILURE;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof UsageError || error instanceof StartupError || isRpmError(error);
  console.error(`rpm: ${known ? (error as Error).message : (error as Error).stack ?? String(error)}`);
  process.exit(exitCodeFor(error));
});
