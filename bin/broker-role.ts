// `rpm start --role broker`: the broker of a split deployment, run and kept in step with the device
// registry. It runs Mosquitto 2 (the roles' shared subscriptions need a broker that has them; aedes,
// the embedded broker, does not) on RPM_MQTT_PORT (TLS with RPM_MQTT_TLS_CERT/KEY), with the password
// and ACL files of `rpm mosquitto-files`, regenerated every few seconds and applied with SIGHUP when
// the registry changed: a newly provisioned device can connect within seconds, a retired one cannot.
// Devices' client ids are bound to their credentials on their listener (Mosquitto's
// `use_username_as_clientid`): a device cannot take over another's session by naming its client id.
// The platform's processes share one user and need client ids of their own, so when RPM_MQTT_URL
// names another port they get a listener of their own, which only the platform's user can log in to.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { Logger } from 'pino';
import { mosquittoPasswordHash, type ClinicalStore } from '../store/index.js';
import type { PlatformConfig } from './config.js';
import { StartupError } from './start.js';
import { mosquittoFiles, platformUserOf, writeMosquittoFiles } from './mosquitto-files.js';

const RESYNC_MS = 5_000;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface RunningBroker {
  /** Mosquitto runs and listens. */
  ready(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startBrokerRole(config: PlatformConfig, clinicalStore: ClinicalStore, logger: Logger): Promise<RunningBroker> {
  if (spawnSync('sh', ['-c', 'command -v mosquitto']).status !== 0) throw new StartupError('rpm start --role broker runs Mosquitto 2, which is not installed (Debian: apt install mosquitto)');
  const platform = platformUserOf(config.mqttUrl);
  if (!platform) throw new StartupError("RPM_MQTT_URL: the broker role takes the platform's own user and password from it (mqtt://user:password@host:1883)");
  if (config.mqttPort === 0) throw new StartupError('RPM_MQTT_PORT: the broker role needs a fixed port (the other roles connect to it)');
  if (await portOpen(config.mqttPort)) {
    throw new StartupError(`RPM_MQTT_PORT ${config.mqttPort} is already in use by another program (another MQTT broker?): stop it, or set RPM_MQTT_PORT to a free port`);
  }
  const platformUrl = new URL(config.mqttUrl!);
  const platformPort = Number(platformUrl.port || (platformUrl.protocol === 'mqtts:' ? 8883 : 1883));
  const ownListener = platformPort !== config.mqttPort;
  if (ownListener && (await portOpen(platformPort))) {
    throw new StartupError(`RPM_MQTT_URL: port ${platformPort}, the platform's own listener, is already in use by another program: stop it, or name a free port`);
  }
  const directory = join(config.dataDir, 'mosquitto');
  mkdirSync(join(directory, 'data'), { recursive: true });
  const user = { ...platform, passwordHash: mosquittoPasswordHash(platform.password) };
  let current = '';
  const sync = async (): Promise<boolean> => {
    const files = await mosquittoFiles(clinicalStore, user);
    const text = files.passwd + files.acl;
    if (text === current) return false;
    writeMosquittoFiles(directory, files);
    current = text;
    if (files.missing.length > 0) logger.warn({ devices: files.missing.length }, 'devices provisioned before broker hashes existed cannot log in until their secret is rotated');
    return true;
  };
  await sync();
  const tls = config.mqttTls ? [`certfile ${config.mqttTls.certPath}`, `keyfile ${config.mqttTls.keyPath}`, 'tls_version tlsv1.2'] : [];
  const auth = (passwd: string) => ['allow_anonymous false', `password_file ${join(directory, passwd)}`, `acl_file ${join(directory, 'acl')}`];
  let listeners: string[];
  if (ownListener) {
    writeFileSync(join(directory, 'passwd-platform'), `${user.username}:${user.passwordHash}\n`, { mode: 0o600 });
    listeners = [
      'per_listener_settings true',
      `listener ${config.mqttPort} 0.0.0.0`,
      ...tls,
      'use_username_as_clientid true',
      ...auth('passwd'),
      `listener ${platformPort} 0.0.0.0`,
      ...(platformUrl.protocol === 'mqtts:' ? tls : []),
      ...auth('passwd-platform'),
    ];
  } else {
    logger.warn(
      { mqttPort: config.mqttPort },
      "RPM_MQTT_URL names the devices' port: devices and the platform share a listener, so a device's client id is not bound to its credential (give the platform a port of its own in RPM_MQTT_URL; docs/security.md)",
    );
    listeners = ['per_listener_settings false', ...auth('passwd'), `listener ${config.mqttPort} 0.0.0.0`, ...tls];
  }
  writeFileSync(
    join(directory, 'mosquitto.conf'),
    [
      ...listeners,
      'persistence true',
      `persistence_location ${join(directory, 'data')}/`,
      'max_queued_messages 100000',
      'max_packet_size 524288',
      // Running as root, Mosquitto would drop to its own user, which cannot read these files.
      `user ${userInfo().username}`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  let stderr = '';
  const child: ChildProcess = spawn('mosquitto', ['-c', join(directory, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  let stopping = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = async () => (await portOpen(config.mqttPort)) && (!ownListener || (await portOpen(platformPort)));
  for (let i = 0; !(await listening()); i += 1) {
    if (child.exitCode !== null || i > 100) throw new StartupError(`Mosquitto did not start: ${stderr.trim() || `exit code ${child.exitCode}`}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  void exited.then((code) => {
    // The broker is the platform's front door: without it, this role is down, and says so.
    if (!stopping) {
      logger.fatal({ code, stderr: stderr.slice(-500) }, 'Mosquitto exited; the broker role stops');
      process.exit(1);
    }
  });
  const timer = setInterval(() => {
    sync()
      .then((changed) => {
        if (changed) {
          child.kill('SIGHUP');
          logger.info('device registry changed: Mosquitto reloaded its users and ACL');
        }
      })
      .catch((error: Error) => logger.error({ err: error.message }, 'could not regenerate the broker files'));
  }, RESYNC_MS);

  logger.info({ mqttPort: config.mqttPort, platformPort }, 'broker role started (Mosquitto)');
  return {
    ready: async () => child.exitCode === null && (await listening()),
    stop: async () => {
      stopping = true;
      clearInterval(timer);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
