import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveJwtSecret } from '../../../bin/config.js';

function refusal(environment: NodeJS.ProcessEnv): string {
  try {
    loadConfig(environment);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('RPM_ERR_CONFIG');
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  it('reads the sign-in settings, with their defaults, and refuses inconsistent ones naming the variable', () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({ publicUrl: 'http://127.0.0.1:8080', sessionIdleMinutes: 15, sessionMaxHours: 12, oidc: undefined });
    const set = loadConfig({ RPM_PUBLIC_URL: 'https://rpm.example/', RPM_SESSION_IDLE_MINUTES: '10', RPM_SESSION_MAX_HOURS: '8', RPM_OIDC_ISSUER: 'https://idp.example/realms/care', RPM_OIDC_CLIENT_ID: 'rpm', RPM_OIDC_CLIENT_SECRET: 's', RPM_OIDC_ROLE_CLAIM: 'rpm_role' });
    expect(set).toMatchObject({ publicUrl: 'https://rpm.example', sessionIdleMinutes: 10, sessionMaxHours: 8, oidc: { issuer: 'https://idp.example/realms/care', clientId: 'rpm', roleClaim: 'rpm_role', teamsClaim: undefined } });
    expect(refusal({ RPM_OIDC_ISSUER: 'https://idp.example' })).toMatch(/RPM_OIDC_CLIENT_ID is required with RPM_OIDC_ISSUER/);
    expect(refusal({ RPM_OIDC_ISSUER: 'http://idp.example', RPM_OIDC_CLIENT_ID: 'a', RPM_OIDC_CLIENT_SECRET: 'b' })).toMatch(/RPM_OIDC_ISSUER must be the https:\/\/ URL/);
    expect(refusal({ RPM_SESSION_IDLE_MINUTES: '900', RPM_SESSION_MAX_HOURS: '12' })).toMatch(/RPM_SESSION_IDLE_MINUTES must not exceed RPM_SESSION_MAX_HOURS/);
    expect(refusal({ RPM_PUBLIC_URL: 'rpm.example' })).toMatch(/RPM_PUBLIC_URL must be the http\(s\):\/\/ address/);
  });

  it('reads the address to listen on, and refuses one that is not an IP address', () => {
    expect(loadConfig({ RPM_LISTEN_HOST: '127.0.0.1' }).listenHost).toBe('127.0.0.1');
    expect(loadConfig({ RPM_LISTEN_HOST: '::' }).listenHost).toBe('::');
    expect(loadConfig({}).listenHost).toBeUndefined();
    expect(refusal({ RPM_LISTEN_HOST: 'everywhere' })).toMatch(/RPM_LISTEN_HOST must be an IP address to listen on/);
  });

  it('reads the hosts webhooks may reach inside the network, and refuses a list with other characters', () => {
    expect(loadConfig({ RPM_WEBHOOK_ALLOW_HOSTS: ' alerts.internal, 10.0.0.8 ,[fd00::1]' }).webhookAllowHosts).toEqual(['alerts.internal', '10.0.0.8', '[fd00::1]']);
    expect(loadConfig({}).webhookAllowHosts).toEqual([]);
    expect(refusal({ RPM_WEBHOOK_ALLOW_HOSTS: 'http://alerts.internal/x' })).toMatch(/RPM_WEBHOOK_ALLOW_HOSTS must be a comma-separated list of host names or addresses/);
  });

  it('requires the issuer and audience with an OIDC issuer\'s JWKS, naming both', () => {
    const message = refusal({ RPM_JWT_JWKS_URL: 'https://idp.example/jwks' });
    expect(message).toMatch(/RPM_JWT_ISSUER is required with RPM_JWT_JWKS_URL/);
    expect(message).toMatch(/RPM_JWT_AUDIENCE is required with RPM_JWT_JWKS_URL/);
    const config = loadConfig({ RPM_JWT_JWKS_URL: 'https://idp.example/jwks', RPM_JWT_ISSUER: 'https://idp.example', RPM_JWT_AUDIENCE: 'rpm' });
    expect(config.jwtExpected).toEqual({ issuer: 'https://idp.example', audience: 'rpm' });
  });

  it('has the defaults of ARCHITECTURE.md: embedded SQLite under ./data, HTTP 8080, MQTT 1883', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ httpPort: 8080, mqttPort: 1883, readingsStore: 'sqlite', logLevel: 'info', mqttUrl: undefined, mqttPublishLimit: { ratePerSecond: 100, burst: 500 } });
    expect(config.dataDir).toBe(join(process.cwd(), 'data'));
    expect(config.clinicalDatabase).toEqual({ dialect: 'sqlite', path: join(process.cwd(), 'data', 'clinical.sqlite') });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      RPM_DATA_DIR: '/var/lib/rpm',
      RPM_HTTP_PORT: '0',
      RPM_MQTT_PORT: '8883',
      RPM_MQTT_URL: 'mqtts://broker.example:8883',
      RPM_DATABASE_URL: 'postgres://rpm:pw@db:5432/rpm',
      RPM_READINGS_STORE: 'influx',
      RPM_INFLUX_URL: 'http://influx:8086',
      RPM_INFLUX_TOKEN: 't',
      RPM_INFLUX_ORG: 'o',
      RPM_INFLUX_BUCKET: 'rpm',
      RPM_JWT_SECRET: 'x'.repeat(32),
      RPM_LOG_LEVEL: 'debug',
      RPM_MQTT_PUBLISH_RATE: '2000',
      RPM_MQTT_PUBLISH_BURST: '5000',
    });
    expect(config).toMatchObject({
      dataDir: '/var/lib/rpm',
      httpPort: 0,
      mqttPort: 8883,
      mqttUrl: 'mqtts://broker.example:8883',
      clinicalDatabase: { dialect: 'postgres', url: 'postgres://rpm:pw@db:5432/rpm' },
      influx: { url: 'http://influx:8086', token: 't', org: 'o', bucket: 'rpm' },
      jwtSecret: 'x'.repeat(32),
      logLevel: 'debug',
      mqttPublishLimit: { ratePerSecond: 2000, burst: 5000 },
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ RPM_HTTP_PORT: '' }).httpPort).toBe(8080);
  });

  it.each([
    ['RPM_HTTP_PORT', 'abc', '0 to 65535'],
    ['RPM_HTTP_PORT', '70000', '0 to 65535'],
    ['RPM_HTTP_PORT', '-1', '0 to 65535'],
    ['RPM_HTTP_PORT', '80.5', '0 to 65535'],
    ['RPM_MQTT_PORT', 'mqtt', '0 to 65535'],
    ['RPM_MQTT_URL', 'broker.example:1883', 'mqtt://'],
    ['RPM_MQTT_URL', 'http://broker.example', 'mqtt://'],
    ['RPM_DATABASE_URL', 'mysql://db/rpm', 'PostgreSQL URL'],
    ['RPM_READINGS_STORE', 'mongodb', '"sqlite" or "influx"'],
    ['RPM_INFLUX_URL', 'influx:8086', 'http://'],
    ['RPM_LOG_LEVEL', 'verbose', 'info'],
    ['RPM_JWT_SECRET', 'short', 'at least 32'],
    ['RPM_API_RATE_LIMIT', 'lots', 'requests per minute'],
    ['RPM_API_RATE_LIMIT', '-5', '0 (no limit) or more'],
    ['RPM_MQTT_PUBLISH_RATE', 'fast', 'publishes per second'],
    ['RPM_MQTT_PUBLISH_RATE', '0', '1 or more'],
    ['RPM_MQTT_PUBLISH_BURST', '2.5', 'whole number of publishes'],
  ])('refuses %s=%s, naming the variable and what is allowed', (name, value, allowed) => {
    const message = refusal({ [name]: value });
    expect(message).toContain(name);
    expect(message).toContain(allowed);
  });

  it('shows the bad value, but never a secret', () => {
    expect(refusal({ RPM_HTTP_PORT: 'abc' })).toContain('"abc"');
    const message = refusal({ RPM_JWT_SECRET: 'hunter2' });
    expect(message).not.toContain('hunter2');
    expect(refusal({ RPM_DATABASE_URL: 'mysql://root:s3cret@db/rpm' })).not.toContain('s3cret');
  });

  it('names every bad variable at once', () => {
    const message = refusal({ RPM_HTTP_PORT: 'abc', RPM_LOG_LEVEL: 'loud' });
    expect(message).toContain('RPM_HTTP_PORT');
    expect(message).toContain('RPM_LOG_LEVEL');
  });

  it('requires the InfluxDB URL and bucket when the readings store is InfluxDB', () => {
    const message = refusal({ RPM_READINGS_STORE: 'influx' });
    expect(message).toContain('RPM_INFLUX_URL is required when RPM_READINGS_STORE=influx');
    expect(message).toContain('RPM_INFLUX_BUCKET is required');
  });

  it('warns about unknown RPM_ variables, which are likely typos', () => {
    expect(loadConfig({ RPM_HTTP_PROT: '9000' }).warnings[0]).toContain('RPM_HTTP_PROT');
  });

  it('generates a JWT secret once, keeps it private in the data dir, and reuses it', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rpm-config-'));
    const config = loadConfig({ RPM_DATA_DIR: dataDir });
    const first = resolveJwtSecret(config);
    const second = resolveJwtSecret(config);
    expect(first.generated).toBe(true);
    expect(second).toMatchObject({ generated: false, secret: first.secret });
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim()).toBe(first.secret);
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(resolveJwtSecret(loadConfig({ RPM_DATA_DIR: dataDir, RPM_JWT_SECRET: 'y'.repeat(40) })).secret).toBe('y'.repeat(40));
  });
});
