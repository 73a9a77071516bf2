// An alert's summary as people read it, in one place: the rules engine writes it in steps (a
// reading's words, what raised it, a retake held for, how it was confirmed), and each step reads
// what the one before wrote. Only this module knows how a held alert's summary ends.

/** How the summary of an alert awaiting the patient's retake ends, until the retake decides. */
const HELD_FOR_RETAKE = ': retake requested';

/** The summary of an alert held until the patient retakes the measurement. */
export function heldForRetake(summary: string): string {
  return `${summary}${HELD_FOR_RETAKE}`;
}

/** The summary without the held-for-retake ending (as it is when it has none). */
function withoutHold(summary: string): string {
  return summary.endsWith(HELD_FOR_RETAKE) ? summary.slice(0, -HELD_FOR_RETAKE.length) : summary;
}

/** A summary with what raised it ("…, with check-in: breathlessness worse"), kept before a held alert's ending. */
export function withCompanion(summary: string, raisedWith: string | undefined): string {
  if (!raisedWith) return summary;
  const raised = `${withoutHold(summary)}, with ${raisedWith}`;
  return summary.endsWith(HELD_FOR_RETAKE) ? heldForRetake(raised) : raised;
}

/** A held alert's summary once the retake confirmed it: the hold no longer holds, how it was confirmed does. */
export function confirmedBy(summary: string, confirmation: string): string {
  return `${withoutHold(summary)} — ${confirmation}`;
}
