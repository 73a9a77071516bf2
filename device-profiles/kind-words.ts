// Kinds of reading and the API's codes in a clinician's words, for every place that prints them:
// the console and the platform's PDF reports.
import { unitText } from './units.js';

const KIND_WORDS: Readonly<Record<string, string>> = {
  cgm_glucose: 'CGM glucose',
  spo2: 'SpO₂',
  check_in: 'check-in',
};

/**
 * A kind of reading in a clinician's words, lower case as it sits inside a sentence or a cell:
 * "blood pressure", "CGM glucose" (the sensor's, beside the meter's "glucose"), "SpO₂", "check-in".
 */
export function kindText(kind: string): string {
  return KIND_WORDS[kind] ?? words(kind);
}

/** The text with its first letter in capitals, to begin a sentence or a cell: "Blood pressure". */
export function capitalized(text: string): string {
  return text.replace(/^./, (first) => first.toUpperCase());
}

/** A code of the API (a status, an event type) in words: "in_progress" as "in progress". */
export function words(code: string): string {
  return code.replace(/_/g, ' ');
}

/**
 * A reading's values and unit as the device sent them, as people write them: "120/80 mmHg, pulse
 * 72", "7.2 mmol/L" (mmol/L stays mmol/L on screen), "101.3 °F" (not the wire's "degF").
 */
export function asSent(reading: { kind: string; original: { unit: string; values: Readonly<Record<string, number>> } }): string {
  const { values } = reading.original;
  const unit = unitText(reading.original.unit);
  if (reading.kind === 'blood_pressure') return `${values.systolic}/${values.diastolic} ${unit}${values.pulse !== undefined ? `, pulse ${values.pulse}` : ''}`;
  return Object.entries(values)
    .map(([field, value]) => (field === 'value' ? `${value} ${unit}` : `${field} ${value}`))
    .join(', ');
}
