// The IANA time zones a form offers for where a patient lives (enrolment, the details form).

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
