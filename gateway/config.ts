// The gateway's configuration file (`rpm gateway --config FILE`), validated before anything starts:
// a bad value stops the gateway with a message naming the field.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEVICE_ID_PATTERN, RpmError, defineErrors, type DeviceProfile, type DeviceProfiles } from '../device-profiles/index.js';

export const GATEWAY_ERRORS = defineErrors('gateway', {
  GATEWAY_CONFIG: { status: null, meaning: 'the gateway’s configuration file is invalid: `rpm gateway` stops with exit status 78 naming the field' },
});

const deviceId = z.string().regex(new RegExp(DEVICE_ID_PATTERN), 'must be a platform device id (letters, digits, . _ : -; at most 64)');
const mac = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, 'must be a Bluetooth address like AA:BB:CC:DD:EE:FF')
  .transform((s) => s.toUpperCase());
const timezone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as America/New_York');

const deviceSchema = z
  .object({
    address: mac,
    model: z.string().min(1),
    /** The platform device the readings belong to (a single-user device). */
    deviceId: deviceId.optional(),
    /** Multi-user devices: the device's user id → the platform device of that user's patient (Q8). */
    users: z.record(z.string().regex(/^(25[0-4]|2[0-4]\d|1?\d?\d)$/, 'user ids are 0–254'), deviceId).optional(),
    /** The code a passkey device shows or was provisioned with (Q2). */
    passkey: z.number().int().min(0).max(999_999).optional(),
  })
  .strict()
  .refine((d) => (d.deviceId === undefined) !== (d.users === undefined), { message: 'give exactly one of deviceId (one patient) or users (a user-id map)' });

export const gatewayConfigSchema = z
  .object({
    gatewayId: deviceId,
    /** The gateway's MQTT password; prefer RPM_GATEWAY_SECRET in the environment. */
    secret: z.string().min(16).optional(),
    mqttUrl: z.string().regex(/^mqtts?:\/\/./, 'must be an mqtt:// or mqtts:// URL'),
    dataDir: z.string().min(1).default('./gateway-data'),
    timezone,
    adapter: z.string().regex(/^hci\d+$/).optional(),
    /** How often each device is tried when it is not connected. */
    pollIntervalMs: z.number().int().min(100).max(3_600_000).default(30_000),
    connectTimeoutMs: z.number().int().min(100).max(300_000).default(30_000),
    operationTimeoutMs: z.number().int().min(100).max(300_000).default(30_000),
    /** A burst is over when no record arrived for this long. */
    burstQuietMs: z.number().int().min(50).max(60_000).default(2_000),
    /** A clock further off than this is logged as uncertain (readings are corrected either way). */
    maxClockSkewSeconds: z.number().int().min(1).default(300),
    devices: z.array(deviceSchema).min(1),
  })
  .strict();

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayDeviceConfig = GatewayConfig['devices'][number];

export interface ResolvedDevice extends GatewayDeviceConfig {
  profile: DeviceProfile & { ble: NonNullable<DeviceProfile['ble']> };
}

function fail(message: string): never {
  throw new RpmError(GATEWAY_ERRORS.GATEWAY_CONFIG, message);
}

/** Parses and checks a configuration object against the model profiles. */
export function parseGatewayConfig(raw: unknown, profiles: DeviceProfiles, environment: NodeJS.ProcessEnv = process.env): { config: GatewayConfig & { secret: string }; devices: ResolvedDevice[] } {
  const parsed = gatewayConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(`gateway config: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const config = parsed.data;
  const secret = environment['RPM_GATEWAY_SECRET'] ?? config.secret;
  if (!secret) fail('gateway config: secret: set RPM_GATEWAY_SECRET (or "secret" in the file) to the secret returned when the gateway was provisioned');
  const seen = new Set<string>();
  const devices = config.devices.map((device, index): ResolvedDevice => {
    const where = `devices.${index}`;
    if (seen.has(device.address)) fail(`gateway config: ${where}.address: ${device.address} is listed twice`);
    seen.add(device.address);
    const profile = profiles.get(device.model);
    if (!profile) fail(`gateway config: ${where}.model: unknown model "${device.model}" (known: ${profiles.list().map((p) => p.id).join(', ')})`);
    if (!profile.ble) fail(`gateway config: ${where}.model: ${device.model} is not a Bluetooth device`);
    if (profile.ble.pairing === 'passkey' && device.passkey === undefined) fail(`gateway config: ${where}.passkey: ${device.model} pairs with a passkey; give the code the device shows`);
    if (device.users && Object.keys(device.users).length > profile.ble.maxUsers) fail(`gateway config: ${where}.users: ${device.model} has at most ${profile.ble.maxUsers} user(s)`);
    return { ...device, profile: profile as ResolvedDevice['profile'] };
  });
  return { config: { ...config, secret }, devices };
}

export function loadGatewayConfig(path: string, profiles: DeviceProfiles): ReturnType<typeof parseGatewayConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`gateway config: cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail(`gateway config: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseGatewayConfig(raw, profiles);
}
