// A patient's readings as a CSV file (GET /v1/patients/{id}/readings?format=csv, the console's
// **Download CSV** under the readings table): for a physician's review in a spreadsheet, a chart
// note, a research export. One row a reading, the values in the kind's canonical unit in columns of
// their own, the value as the device sent it beside them (a scale in lb), and the time both as the
// instant and on the patient's clock. Cells a spreadsheet would read as formulas are made text.
import { csvCell } from '../billing/index.js';
import { asSent, type StoredReading } from '../device-profiles/index.js';

/** The numeric fields of every kind, each a column (empty where a kind has none). */
const VALUE_COLUMNS = ['value', 'systolic', 'diastolic', 'mean_arterial', 'pulse', 'bmi'] as const;
const FIELD_OF: Readonly<Record<(typeof VALUE_COLUMNS)[number], string>> = { value: 'value', systolic: 'systolic', diastolic: 'diastolic', mean_arterial: 'meanArterial', pulse: 'pulse', bmi: 'bmi' };

export const READINGS_CSV_COLUMNS = ['measured_at', 'measured_local', 'timezone', 'kind', ...VALUE_COLUMNS, 'unit', 'as_sent', 'flags', 'source', 'entered_by', 'device_id', 'reading_id', 'received_at'] as const;

/** "2026-12-07 06:15" on the patient's clock. */
function localText(format: Intl.DateTimeFormat, instant: string): string {
  const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** The readings (in the order given) as CSV with a header row, lines ended CRLF (RFC 4180). */
export function readingsCsv(readings: readonly StoredReading[], timezone: string): string {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const lines = [READINGS_CSV_COLUMNS.join(',')];
  for (const reading of readings) {
    const { enteredBy, ...flags } = reading.flags;
    lines.push(
      [
        reading.measuredAt,
        localText(format, reading.measuredAt),
        timezone,
        reading.kind,
        ...VALUE_COLUMNS.map((column) => reading.values[FIELD_OF[column]]),
        reading.unit,
        asSent(reading),
        Object.entries(flags)
          .map(([name, value]) => `${name}=${String(value)}`)
          .join('; '),
        reading.source,
        enteredBy,
        reading.deviceId,
        reading.readingId,
        reading.receivedAt,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
