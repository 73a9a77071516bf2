// The patient's own MQTT topic (issue #26; contract: ARCHITECTURE.md "Patients and care teams
// talk"): what the platform tells a patient's app, QoS 1, on a topic only that patient may
// subscribe to. Prompts and reminders carry no answers and no health information: the app fetches
// the check-in (and the thread) over the API.
export const patientMessagesTopic = (patientId: string) => `rpm/v1/patients/${patientId}/messages`;

/** A scheduled check-in has come due: answer `questionnaireId` for `dueAt`. */
export interface CheckInPrompt {
  type: 'check_in' | 'check_in_reminder';
  questionnaireId: string;
  title: string;
  dueAt: string;
}
