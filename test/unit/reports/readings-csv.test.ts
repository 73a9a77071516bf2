// The readings CSV's cells: the patient's clock across a DST change (written out here, not computed),
// and a value a spreadsheet would run as a formula kept as text.
import { describe, expect, it } from '@jest/globals';
import { readingsCsv } from '../../../reports/readings-csv.js';
import type { StoredReading } from '../../../device-profiles/index.js';
import { readingAt } from '../../support/readings-stores.js';

const reading = (measuredAt: string, deviceId = 'cuff-1', flags: StoredReading['flags'] = {}): StoredReading => ({ ...readingAt('p-1', Date.parse(measuredAt)), deviceId, flags });

describe('readingsCsv', () => {
  it('writes the patient’s clock on each side of the spring-forward change (Chicago, 8 March 2026)', () => {
    const rows = readingsCsv([reading('2026-03-08T07:30:00.000Z'), reading('2026-03-08T08:30:00.000Z')], 'America/Chicago').split('\r\n');
    // 01:30 CST, then an hour later 03:30 CDT (02:xx does not exist that night).
    expect(rows.slice(1, 3).map((row) => row.split(',')[1])).toEqual(['2026-03-08 01:30', '2026-03-08 03:30']);
  });

  it('keeps a cell a spreadsheet would run as a formula as text, and quotes what needs it', () => {
    const [, row] = readingsCsv([reading('2026-12-05T14:30:00.000Z', '=HYPERLINK("http://x")', { irregularHeartbeat: true, note: '-2+3' })], 'UTC').split('\r\n');
    expect(row).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(row).toContain('irregularHeartbeat=true; note=-2+3');
    expect(row).not.toMatch(/,=|,-2/);
  });
});
