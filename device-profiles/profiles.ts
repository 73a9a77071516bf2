// Loading the device-model profiles (one JSON file per model). A broken file stops the load with an
// error naming the file and the field: a profile decides how bytes become clinical values, so a
// half-understood one must never be used.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpmError, VALIDATION_ERRORS } from './errors.js';
import { KINDS, type MeasurementKind } from './kinds.js';
import { deviceProfileSchema, type DeviceProfile } from './profile-schema.js';
import { createAjv, schemaIssues } from './schema-validator.js';
import { formatIssues, type ValidationIssue } from './validation-issue.js';

export const DEFAULT_PROFILES_DIR = fileURLToPath(new URL('./models/', import.meta.url));

const validateProfileShape = createAjv().compile(deviceProfileSchema);

/** Checks that span fields, which the JSON Schema cannot express. */
function crossFieldIssues(profile: DeviceProfile, fileName: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, code: VALIDATION_ERRORS.BAD_DEVICE_PROFILE, message });
  if (`${profile.id}.json` !== fileName) issue('/id', `must equal the file name without .json ("${fileName}")`);
  const allowedUnits = KINDS[profile.kind].units as readonly string[];
  profile.units.forEach((unit, index) => {
    if (!allowedUnits.includes(unit)) issue(`/units/${index}`, `"${unit}" is not a unit of ${profile.kind} (${allowedUnits.join(', ')})`);
  });
  if (profile.transport === 'ble' && !profile.ble) issue('/ble', 'is required for a Bluetooth device');
  if (profile.transport !== 'ble' && profile.ble) issue('/ble', 'is only for Bluetooth devices');
  if (profile.reportableRange) {
    if (profile.kind !== 'glucose') issue('/reportableRange', 'applies to glucose meters only');
    if (profile.reportableRange.low >= profile.reportableRange.high) issue('/reportableRange/low', 'must be below high');
    if (!allowedUnits.includes(profile.reportableRange.unit)) issue('/reportableRange/unit', `must be one of ${allowedUnits.join(', ')}`);
  }
  if (profile.deviceIdPattern !== undefined) {
    try {
      new RegExp(profile.deviceIdPattern);
    } catch (error) {
      issue('/deviceIdPattern', `is not a valid regular expression (${(error as Error).message})`);
    }
  }
  return issues;
}

/** Parses and validates one profile file's text; throws RPM_ERR_BAD_DEVICE_PROFILE naming the file. */
export function parseDeviceProfile(text: string, fileName: string): DeviceProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RpmError(VALIDATION_ERRORS.BAD_DEVICE_PROFILE, `device profile ${fileName}: not valid JSON (${(error as Error).message})`);
  }
  if (!validateProfileShape(parsed)) {
    throw new RpmError(VALIDATION_ERRORS.BAD_DEVICE_PROFILE, `device profile ${fileName}: ${formatIssues(schemaIssues(validateProfileShape))}`);
  }
  const profile = parsed as DeviceProfile;
  const issues = crossFieldIssues(profile, fileName);
  if (issues.length > 0) {
    throw new RpmError(VALIDATION_ERRORS.BAD_DEVICE_PROFILE, `device profile ${fileName}: ${formatIssues(issues)}`);
  }
  return profile;
}

export class DeviceProfiles {
  private readonly byId: ReadonlyMap<string, DeviceProfile>;

  constructor(profiles: readonly DeviceProfile[]) {
    this.byId = new Map(profiles.map((profile) => [profile.id, profile]));
  }

  get(id: string): DeviceProfile | undefined {
    return this.byId.get(id);
  }

  list(): DeviceProfile[] {
    return [...this.byId.values()];
  }

  forKind(kind: MeasurementKind): DeviceProfile[] {
    return this.list().filter((profile) => profile.kind === kind);
  }
}

/** Loads every `*.json` profile in `directory`; all files must be valid, or nothing is loaded. */
export function loadDeviceProfiles(directory: string = DEFAULT_PROFILES_DIR): DeviceProfiles {
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.json'))
    .sort();
  const problems: string[] = [];
  const profiles: DeviceProfile[] = [];
  for (const name of files) {
    const path = join(directory, name);
    try {
      profiles.push(parseDeviceProfile(readFileSync(path, 'utf8'), basename(path)));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) {
    throw new RpmError(VALIDATION_ERRORS.BAD_DEVICE_PROFILE, `refusing to load device profiles from ${directory}:\n  ${problems.join('\n  ')}`);
  }
  return new DeviceProfiles(profiles);
}
