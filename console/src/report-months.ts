// The months a patient's monthly report can be asked for (GET /v1/patients/{id}/monthly-report),
// in the patient's calendar: the one they were enrolled in through the one running now.

/** The patient's months from the one they were enrolled in to this one, newest first (at most 24), as YYYY-MM in their zone. */
export function reportMonths(enrolledAt: string, timezone: string, nowMs: number): string[] {
  const monthOf = (ms: number) => new Date(ms).toLocaleDateString('en-CA', { timeZone: timezone }).slice(0, 7);
  const first = monthOf(Date.parse(enrolledAt));
  const months: string[] = [];
  for (let month = monthOf(nowMs); month >= first && months.length < 24; ) {
    months.push(month);
    const [year, number] = month.split('-').map(Number) as [number, number];
    month = number === 1 ? `${year - 1}-12` : `${year}-${String(number - 1).padStart(2, '0')}`;
  }
  return months;
}
