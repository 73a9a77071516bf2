// Webhook targets: the addresses of the SSRF report, in every spelling, are refused; public https
// receivers and hosts an operator allowed are not (issue #19, item 8).
import { describe, expect, it } from '@jest/globals';
import { WebhookTargetPolicy, isPublicAddress } from '../../../rules/index.js';

describe('webhook target policy', () => {
  const policy = new WebhookTargetPolicy();

  it.each([
    'https://127.0.0.1/hook',
    'https://localhost/hook',
    'https://LOCALHOST./hook',
    'https://api.localhost/hook',
    'https://2130706433/hook',
    'https://0x7f000001/hook',
    'https://0177.0.0.1/hook',
    'https://127.1/hook',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[::ffff:7f00:1]/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://10.0.0.8/hook',
    'https://172.20.1.1/hook',
    'https://192.168.1.10/hook',
    'https://100.64.0.1/hook',
    'https://0.0.0.0/hook',
    'https://[fd00::1]/hook',
    'https://[fe80::1]/hook',
  ])('refuses %s', (url) => {
    expect(policy.problemWith(url)).toEqual(expect.any(String));
  });

  it('refuses plain http and credentials in the URL, and accepts a public https receiver', () => {
    expect(policy.problemWith('http://hooks.example.com/rpm')).toMatch(/https/);
    expect(policy.problemWith('https://user:pw@hooks.example.com/rpm')).toMatch(/credentials/);
    expect(policy.problemWith('https://hooks.example.com/rpm')).toBeUndefined();
    expect(policy.problemWith('https://93.184.216.34/rpm')).toBeUndefined();
  });

  it('accepts a host an operator allowed, over http too', () => {
    const allowing = new WebhookTargetPolicy(['127.0.0.1', 'Alerts.Internal']);
    expect(allowing.problemWith('http://127.0.0.1:9000/hook')).toBeUndefined();
    expect(allowing.problemWith('https://alerts.internal/hook')).toBeUndefined();
    expect(allowing.problemWith('https://10.0.0.8/hook')).toEqual(expect.any(String));
  });

  it('refuses at registration a name that resolves to a loopback address', async () => {
    // localhost is refused by name; the resolution check is what catches any other such name.
    expect(await policy.problemWithResolved('https://localhost/hook')).toMatch(/this machine/);
    await new Promise<void>((resolve, reject) =>
      policy.lookup('localhost', { family: 0 }, (error) => {
        try {
          expect(error?.message).toMatch(/non-public address/);
          resolve();
        } catch (failure) {
          reject(failure);
        }
      }),
    );
  });

  it('tells public addresses from the rest', () => {
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('2606:4700:4700::1111')).toBe(true);
    expect(isPublicAddress('127.0.0.1')).toBe(false);
    expect(isPublicAddress('::ffff:10.1.2.3')).toBe(false);
    expect(isPublicAddress('64:ff9b::a00:1')).toBe(false);
    expect(isPublicAddress('not an address')).toBe(false);
  });
});
