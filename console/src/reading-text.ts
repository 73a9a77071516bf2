import { unitText } from '../../device-profiles/units.js';
import type { Reading } from './api-types.js';

/**
 * A reading's values and unit as the device sent them, as people write them: "120/80 mmHg, pulse
 * 72", "7.2 mmol/L" (mmol/L stays mmol/L on screen), "101.3 °F" (not the wire's "degF").
 */
export function asSent(reading: Pick<Reading, 'kind' | 'original'>): string {
  const { values } = reading.original;
  const unit = unitText(reading.original.unit);
  if (reading.kind === 'blood_pressure') return `${values.systolic}/${values.diastolic} ${unit}${values.pulse !== undefined ? `, pulse ${values.pulse}` : ''}`;
  return Object.entries(values)
    .map(([field, value]) => (field === 'value' ? `${value} ${unit}` : `${field} ${value}`))
    .join(', ');
}

// Kinds and codes in words are shared with the platform's PDF reports.
export { kindText, words } from '../../device-profiles/kind-words.js';
