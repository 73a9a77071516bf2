// The body of an enrollment (POST /v1/patients) from the Patients page's form: the first day of
// monitoring is a date on the patient's calendar, so it is sent as midnight in their time zone.
import { localDate, startOfLocalDate } from '../../store/readings/local-time.js';

export type Draft = { id: string; name: string; birthDate: string; timezone: string; careTeamId: string; from: string; language: string };

/**
 * The request's body. The first day counts from midnight in the patient's zone (a date is theirs);
 * today's is left to the server, which enrols from now.
 */
export function enrollmentBody(draft: Draft, nowMs = Date.now()): Record<string, string> {
  const body: Record<string, string> = { name: draft.name.trim(), birthDate: draft.birthDate, timezone: draft.timezone, careTeamId: draft.careTeamId };
  if (draft.id.trim()) body.id = draft.id.trim();
  if (draft.language.trim()) body.language = draft.language.trim();
  try {
    if (draft.from && draft.from !== localDate(nowMs, draft.timezone)) body.enrolledAt = new Date(startOfLocalDate(draft.from, draft.timezone)).toISOString();
  } catch {
    // A zone the browser does not know: the server refuses it, naming the field.
  }
  return body;
}

