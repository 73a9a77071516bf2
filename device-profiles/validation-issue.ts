/** One problem with an input, naming the field as a JSON Pointer (`/readings/3/systolic`). */
export interface ValidationIssue {
  path: string;
  /** Stable machine-readable code (`RPM_ERR_…`). */
  code: string;
  message: string;
}

/** `"/diastolic: must be below systolic"`, the form used in dead letters and API errors. */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path || '/'}: ${issue.message}`).join('; ');
}
