// Why a reading was set aside from a patient's record, in one list the API, the store and the
// console share (no database code here: the console's bundle imports it).

/**
 * `not_the_patient`: someone else measured on the patient's device (a spouse on a shared cuff or
 * scale); `entered_in_error`: a wrong value typed in, or a reading entered twice; `device_fault`: the
 * device measured wrongly (a cuff put on badly, a scale on carpet, a faulty sensor); `other`, with a
 * note saying what.
 */
export const SET_ASIDE_REASONS = ['not_the_patient', 'entered_in_error', 'device_fault', 'other'] as const;
export type SetAsideReason = (typeof SET_ASIDE_REASONS)[number];

const TEXT: Readonly<Record<SetAsideReason, string>> = {
  not_the_patient: 'not the patient’s reading',
  entered_in_error: 'entered in error',
  device_fault: 'device fault',
  other: 'other',
};

/** The reason in words, for an alert's note and the console. */
export function setAsideReasonText(reason: SetAsideReason): string {
  return TEXT[reason];
}

/** A note kept with a reading set aside, at most. */
export const MAX_SET_ASIDE_NOTE = 500;

/**
 * Readings set aside in one request, at most: a week or two of a spouse's readings on a shared cuff
 * or scale fits in one; a device's whole memory synced onto the wrong person takes several.
 */
export const MAX_SET_ASIDE_BATCH = 100;
