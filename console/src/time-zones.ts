// The IANA time zones a form offers for where a patient lives (enrolment, the details form).
import type { FormFields } from './form-field.js';
import { html } from './html.js';

/** This browser's time zone: the likeliest one of a clinic's patients. */
export const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Every IANA zone the browser knows, with the browser's own, UTC and `also` (a patient's zone as the API names it) among them. */
export function timeZones(...also: string[]): string[] {
  const zones = new Set(typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []);
  for (const zone of [BROWSER_ZONE, 'UTC', ...also]) zones.add(zone);
  return [...zones].sort();
}

/** A zone as people read it: "America/New York". */
export function zoneText(zone: string): string {
  return zone.replace(/_/g, ' ');
}

/** The form's **Time zone** field: a choice of `zones`, described by `hint`. */
export function timeZoneField({ field, aria }: FormFields, id: string, zones: readonly string[], value: string, onChange: (event: Event) => void, hint: string): unknown {
  return field(
    id,
    'Time zone',
    html`<select id=${id} value=${value} onChange=${onChange} ...${aria(id, true)}>
      ${zones.map((zone) => html`<option value=${zone}>${zoneText(zone)}</option>`)}
    </select>`,
    hint,
  );
}
