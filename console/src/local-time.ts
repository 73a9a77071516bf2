// Times in this browser's own time zone: how event times are shown (alert history, dead letters, the
// audit log), and the values of date and datetime-local fields. A patient's readings are shown in the
// patient's time zone instead (pages/patient.ts).

/** An instant to the second, as an event log shows it. */
export const eventTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** An instant to the minute, as lists show when something happened or will. */
export const shortTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** `YYYY-MM-DDTHH:MM` of an instant in this browser's time: a datetime-local field's value. */
export function localDateTimeValue(ms: number): string {
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** `YYYY-MM-DD` of an instant in this browser's time: a date field's value. */
export function localDateValue(ms: number): string {
  return localDateTimeValue(ms).slice(0, 10);
}
