import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_PROFILES_DIR,
  DEVICE_QUIRKS,
  MEASUREMENT_KINDS,
  isRpmError,
  loadDeviceProfiles,
  parseDeviceProfile,
} from '../../../device-profiles/index.js';

const omron = readFileSync(join(DEFAULT_PROFILES_DIR, 'omron-bp7250.json'), 'utf8');

function withChange(change: (profile: Record<string, unknown>) => void): string {
  const profile = JSON.parse(omron) as Record<string, unknown>;
  change(profile);
  return JSON.stringify(profile);
}

function refusal(text: string, fileName = 'omron-bp7250.json'): string {
  try {
    parseDeviceProfile(text, fileName);
  } catch (error) {
    expect(isRpmError(error, 'RPM_ERR_BAD_DEVICE_PROFILE')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('the profile was accepted');
}

describe('device profiles shipped with the platform', () => {
  const profiles = loadDeviceProfiles();

  it('has a generic Bluetooth SIG profile for blood pressure, glucose, weight, temperature and SpO2', () => {
    for (const id of [
      'generic-sig-blood-pressure',
      'generic-sig-glucose',
      'generic-sig-weight-scale',
      'generic-sig-thermometer',
      'generic-sig-pulse-oximeter',
    ]) {
      expect(profiles.get(id)?.manufacturer).toBe('Bluetooth SIG');
    }
  });

  it('has at least six real models, one of them a cellular cuff that publishes MQTT directly', () => {
    const real = profiles.list().filter((profile) => !profile.id.startsWith('generic-'));
    expect(real.length).toBeGreaterThanOrEqual(6);
    const cellular = real.filter((profile) => profile.transport === 'cellular-mqtt');
    expect(cellular.map((profile) => profile.kind)).toContain('blood_pressure');
    expect(cellular[0]!.ble).toBeUndefined();
  });

  it("switches the Beurer BM85's byte-order quirks on in its profile only", () => {
    expect(profiles.get('beurer-bm85')!.quirks).toEqual(
      expect.arrayContaining(['big_endian_pulse_status', 'implicit_user_id', 'map_zero_is_absent']),
    );
    expect(profiles.get('generic-sig-blood-pressure')!.quirks).toEqual([]);
  });

  it('records glucose meters LO/HI limits', () => {
    for (const meter of profiles.forKind('glucose')) expect(meter.reportableRange).toBeDefined();
    expect(profiles.get('accu-chek-guide')!.reportableRange).toEqual({ low: 10, high: 600, unit: 'mg/dL' });
  });

  it('only uses kinds and quirks of the vocabulary', () => {
    for (const profile of profiles.list()) {
      expect(MEASUREMENT_KINDS).toContain(profile.kind);
      for (const quirk of profile.quirks) expect(Object.keys(DEVICE_QUIRKS)).toContain(quirk);
    }
  });
});

describe('a broken profile file is refused with a clear error', () => {
  it.each<[string, string, string]>([
    ['invalid JSON', '{"id": "omron-bp7250",', 'not valid JSON'],
    ['an unknown quirk', withChange((p) => (p.quirks = ['big_endian_everything'])), '/quirks/0'],
    ['an unknown kind', withChange((p) => (p.kind = 'blood_sugar')), '/kind'],
    ['a unit of another kind', withChange((p) => (p.units = ['mg/dL'])), '/units/0'],
    ['a missing field', withChange((p) => delete p.manufacturer), '/manufacturer'],
    ['a misspelt field', withChange((p) => (p.quirk = [])), '/quirk'],
    ['a short service UUID in lower case', withChange((p) => ((p.ble as { services: string[] }).services = ['1810', '18o5'])), '/ble/services/1'],
    ['a Bluetooth model without its ble section', withChange((p) => delete p.ble), '/ble'],
    ['an id that differs from its file name', withChange((p) => (p.id = 'omron-bp7000')), '/id'],
    ['a reportable range on a cuff', withChange((p) => (p.reportableRange = { low: 10, high: 600, unit: 'mmHg' })), '/reportableRange'],
    ['a device id pattern that is no regular expression', withChange((p) => (p.deviceIdPattern = '^[0-9{15}$')), '/deviceIdPattern'],
  ])('refuses %s', (_name, text, path) => {
    const message = refusal(text);
    expect(message).toContain('omron-bp7250.json');
    expect(message).toContain(path);
  });

  it('refuses the whole directory when one file is broken, naming that file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'rpm-profiles-'));
    writeFileSync(join(directory, 'omron-bp7250.json'), omron);
    writeFileSync(join(directory, 'broken.json'), '{"id":"broken"}');
    expect(() => loadDeviceProfiles(directory)).toThrow(/broken\.json: .*\/manufacturer: is required/);
  });
});
