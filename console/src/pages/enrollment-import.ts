// Enrolling a clinic's patients from a spreadsheet (POST /v1/enrollment/import, docs/api.md "Bulk
// enrollment"): a CSV file is sent whole and imported whole or not at all; a refused file lists each
// problem by line and field, and an imported one lists its devices' MQTT secrets, shown this once.
import { useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import { html } from '../html.js';
import { counted } from '../counted.js';

/** The API takes files up to 2 MiB (its body limit): a larger one is refused here, before sending. */
const MAX_BYTES = 2 * 1024 * 1024;

type Problem = { line: number; field: string; message: string };
type Imported = { patients: { id: string; name: string; line: number }[]; devices: { id: string; kind: string; patientId: string; secret: string }[] };

export function EnrollmentImport({ onImported }: { onImported: () => void }) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [imported, setImported] = useState<Imported | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setProblems([]);
    setImported(undefined);
    if (!file) return setError('Choose a CSV file first.');
    if (file.size > MAX_BYTES) return setError(`${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MiB; a file may be at most 2 MiB (about 5,000 rows).`);
    setBusy(true);
    try {
      const answer = await api<Imported>('POST', '/v1/enrollment/import', await file.text(), { contentType: 'text/csv' });
      setImported(answer);
      setFile(undefined);
      (document.getElementById('import-file') as HTMLInputElement | null)?.form?.reset();
      onImported();
    } catch (failure) {
      const listed = failure instanceof ApiFailure ? (failure.answer.problems as Problem[] | undefined) : undefined;
      if (listed && listed.length > 0) setProblems(listed);
      else setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const secrets = imported ? ['deviceId,kind,patientId,secret', ...imported.devices.map((d) => [d.id, d.kind, d.patientId, d.secret].join(','))].join('\n') : '';
  return html`
    <form class="enrollment-import" onSubmit=${submit} aria-labelledby="import-heading">
      <h2 id="import-heading" class="visually-hidden">Enroll from a CSV file</h2>
      <p class="hint">
        One row per patient, and one more per further device, the first line naming the columns: patientId (optional: the clinic's record number), name, birthDate (YYYY-MM-DD),
        timezone (such as America/New_York), careTeamId, and optionally identifierSystem and identifier (the patient's medical record number in the hospital's EHR and the address of its system, such as http://hospital.example.org/mrn),
        deviceId, deviceKind, deviceModel and assignedFrom. Every row is checked first: a file with any problem is
        refused whole, and nothing is imported.
      </p>
      <label for="import-file">CSV file</label>
      <input id="import-file" type="file" accept=".csv,text/csv" onChange=${(event: Event) => setFile((event.target as HTMLInputElement).files?.[0])} />
      <button type="submit" disabled=${busy}>Import</button>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${problems.length > 0
        ? html`<div role="alert" class="import-problems">
            <p class="error">Nothing was imported: ${counted(problems.length, 'problem')} to mend in the file.</p>
            <table>
              <caption class="visually-hidden">Problems in the file</caption>
              <thead><tr><th scope="col">Line</th><th scope="col">Column</th><th scope="col">Problem</th></tr></thead>
              <tbody>${problems.map((problem) => html`<tr><td>${problem.line}</td><td>${problem.field}</td><td>${problem.message}</td></tr>`)}</tbody>
            </table>
          </div>`
        : null}
      ${imported
        ? html`<div class="import-result">
            <p role="status">Imported ${counted(imported.patients.length, 'patient')} and ${counted(imported.devices.length, 'device')}.</p>
            ${imported.devices.length > 0
              ? html`<section class="notice" role="status" aria-label="Device secrets">
                  <p><strong>The devices' MQTT secrets</strong>, shown this once: copy them into the devices' set-up now.</p>
                  <table class="device-secrets">
                    <caption class="visually-hidden">Devices imported, each with its secret</caption>
                    <thead><tr><th scope="col">Device</th><th scope="col">Kind</th><th scope="col">Patient</th><th scope="col">Secret</th></tr></thead>
                    <tbody>${imported.devices.map((d) => html`<tr data-device=${d.id}><th scope="row">${d.id}</th><td>${d.kind}</td><td>${d.patientId}</td><td><code>${d.secret}</code></td></tr>`)}</tbody>
                  </table>
                  <p><button type="button" class="secondary" onClick=${() => void navigator.clipboard?.writeText(secrets)}>Copy all as CSV</button></p>
                </section>`
              : null}
          </div>`
        : null}
    </form>
  `;
}
