// Passwords after NIST SP 800-63B: length, not composition; common and guessable ones refused; a
// memory-hard hash with its parameters; the same work for an unknown user as for a wrong password.
import { describe, expect, it } from '@jest/globals';
import { hashPassword, passwordProblem, verifyPassword } from '../../../store/index.js';

describe('password rules', () => {
  it.each([
    ['short', /at least 12 characters/],
    ['password1234', /most common passwords/],
    ['PASSWORD1234', /most common passwords/],
    ['abcabcabcabc', /repeats/],
    ['aaaaaaaaaaaaaaaa', /repeats/],
    ['abcdefghijklm', /sequence/],
    ['qwertyuiopasdf', /sequence/],
    ['98765432109876', /sequence|repeats/],
    ['ann.nurse2026!', /too close to "ann.nurse"/],
    ['rpmrpm12345!', /too close to "rpm"/],
  ])('refuses %j', (password, reason) => {
    expect(passwordProblem(password, ['ann.nurse', 'Ann', 'Nurse'])).toMatch(reason);
  });

  it('accepts a passphrase of ordinary words and any characters, with no composition rules', () => {
    expect(passwordProblem('correct horse battery staple')).toBeUndefined();
    expect(passwordProblem('мой пароль длинный')).toBeUndefined();
    expect(passwordProblem('a nurse with a long day ahead', ['ann'])).toBeUndefined();
  });

  it('hashes with scrypt and its parameters, verifies in constant time, and works as hard for no hash', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^scrypt\$N=32768,r=8,p=1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await hashPassword('correct horse battery staple')).not.toBe(hash);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false);
    const started = process.hrtime.bigint();
    expect(await verifyPassword('anything at all here', null)).toBe(false);
    // A real scrypt ran (tens of milliseconds), not an early return: no account enumeration by time.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThan(5);
  });
});
