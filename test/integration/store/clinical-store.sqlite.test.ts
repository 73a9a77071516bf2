import { describe } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clinicalStoreSuite } from './clinical-store.suite.js';

const directory = mkdtempSync(join(tmpdir(), 'rpm-clinical-'));

describe('clinical store on SQLite', () => {
  clinicalStoreSuite({
    location: async () => ({ dialect: 'sqlite', path: join(directory, 'clinical.sqlite') }),
    cleanup: async () => rmSync(directory, { recursive: true, force: true }),
  });
});
