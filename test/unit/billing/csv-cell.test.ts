// CSV cells a spreadsheet opens as text: every formula trigger is defused, including the tab and
// the carriage return that a patient name could start with (issue #19, item 10).
import { describe, expect, it } from '@jest/globals';
import { csvCell } from '../../../billing/index.js';

describe('CSV cells', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+1', `"'+1+1"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\t=1+1', `"'\t=1+1"`],
    ['\r=1+1', `"'\r=1+1"`],
    ['  =1+1', `"'  =1+1"`],
  ])('defuses %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it('leaves ordinary values as they are and quotes what needs quoting', () => {
    expect(csvCell('Ada Example')).toBe('Ada Example');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(null)).toBe('');
    expect(csvCell('a, b')).toBe('"a, b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('2026-11-02')).toBe('2026-11-02');
  });
});
