import { describe } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteReadingsStore } from '../../../store/index.js';
import { readingsStoreSuite } from './readings-store.suite.js';

describe('readings store on SQLite', () => {
  readingsStoreSuite(async () => new SqliteReadingsStore(join(mkdtempSync(join(tmpdir(), 'rpm-readings-')), 'readings.sqlite')));
});
