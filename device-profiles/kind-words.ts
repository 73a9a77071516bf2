// Kinds of reading and the API's codes in a clinician's words, for every place that prints them:
// the console and the platform's PDF reports.

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

/** A code of the API (a status, an event type) in words: "in_progress" as "in progress". */
export function words(code: string): string {
  return code.replace(/_/g, ' ');
}
