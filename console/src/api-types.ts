// The console's types are the API's own schemas (dashboard-api/schemas.ts), inferred: a change of
// the API's shape is a type error here, not a surprise in a nurse's browser. Type-only imports:
// nothing of zod or the server goes into the bundle.
import type { z } from 'zod';
import type { alertView, assignmentView, deviceView, patientView, readingView, triageRow } from '../../dashboard-api/schemas.js';

export type Alert = z.infer<typeof alertView>;
export type Patient = z.infer<typeof patientView> & { devices: string[] };
export type Reading = z.infer<typeof readingView>;
export type TriageRow = z.infer<typeof triageRow>;
export type Device = z.infer<typeof deviceView>;
export type Assignment = z.infer<typeof assignmentView>;

export interface Me {
  user: { id: string; name: string | null; role: string; careTeams: string[]; patientId: string | null };
  via: 'session' | 'token';
  csrfToken?: string;
  idleExpiresAt?: string;
}
