// One table of error codes: every RPM_ERR_ code the code, the tests and the docs mention is declared
// in a module's table, and the README's list and docs/errors.md are exactly what the tables say.
import { expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorTable } from '../../../device-profiles/index.js';
import { README_MARKERS, errorsPage, readmeErrorList } from '../../../bin/error-list.js';

const ROOT = join(import.meta.dirname, '../../..');
const FOLDERS = ['bin', 'billing', 'dashboard-api', 'device-profiles', 'fhir', 'gateway', 'ingest', 'rules', 'store', 'console/src', 'test', 'bench', 'docs'];

function files(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|md)$/.test(name) ? [path] : [];
  });
}

it('declares every code the tree mentions, in exactly one module', () => {
  const declared = new Set(errorTable().map((info) => info.code));
  const mentioned = new Map<string, string>();
  for (const file of [join(ROOT, 'README.md'), ...FOLDERS.flatMap((folder) => files(join(ROOT, folder)))]) {
    for (const [code] of readFileSync(file, 'utf8').matchAll(/RPM_ERR_[A-Z0-9_]*[A-Z0-9]/g)) if (!mentioned.has(code)) mentioned.set(code, file.slice(ROOT.length + 1));
  }
  const undeclared = [...mentioned].filter(([code]) => !declared.has(code)).map(([code, file]) => `${code} (${file})`);
  expect(undeclared).toEqual([]);
  expect(declared.size).toBeGreaterThan(50);
});

it('lists them in the README and docs/errors.md exactly as the tables say (npm run docs:errors)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf(README_MARKERS.start) + README_MARKERS.start.length, readme.indexOf(README_MARKERS.end));
  expect(block.trim()).toBe(readmeErrorList());
  expect(readFileSync(join(ROOT, 'docs/errors.md'), 'utf8')).toBe(errorsPage());
});
