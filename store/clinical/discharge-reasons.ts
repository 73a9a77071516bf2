// Why a patient's monitoring ended, in one list the API, the store and the console share (no
// database code here: the console's bundle imports it).

/**
 * `goals_met`: the program's goals reached (blood pressure under control); `declined`: the patient
 * withdrew; `hospice`: moved to hospice care; `deceased`; `transferred`: care taken over by another
 * provider; `not_eligible`: no longer covered or eligible; `other`, with a note saying what.
 */
export const DISCHARGE_REASONS = ['goals_met', 'declined', 'hospice', 'deceased', 'transferred', 'not_eligible', 'other'] as const;
export type DischargeReason = (typeof DISCHARGE_REASONS)[number];

const TEXT: Readonly<Record<DischargeReason, string>> = {
  goals_met: 'goals met',
  declined: 'declined by the patient',
  hospice: 'moved to hospice care',
  deceased: 'deceased',
  transferred: 'care transferred to another provider',
  not_eligible: 'no longer eligible',
  other: 'other',
};

/** The reason in words ("goals met"), for an alert's note and the console. */
export function dischargeReasonText(reason: DischargeReason): string {
  return TEXT[reason];
}
