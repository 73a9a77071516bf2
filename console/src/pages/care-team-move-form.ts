// Moving a patient to another of the nurse's care teams (POST /v1/patients/{id}/care-team-moves),
// from their page: a caseload rebalanced, a patient who changed clinics. The form says what goes
// with the patient and what the team left loses, asks why (kept with the move and on each open
// alert), and lists the patient's earlier moves.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { CareTeam, CareTeamMove, CareTeamMoveAnswer, PatientSummary } from '../api-types.js';
import { andList, counted } from '../counted.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';

const FIELDS: Readonly<Record<string, string>> = { careTeamId: 'move-team', reason: 'move-reason' };

/** What went with the patient, in words: "with 1 open alert and 3 messages" (what there was none of is left out). */
export function movedText(moved: CareTeamMoveAnswer['moved']): string {
  const counts: [number, string][] = [
    [moved.unresolvedAlerts, 'open alert'],
    [moved.resolvedAlerts, 'resolved alert'],
    [moved.messages, 'message'],
    [moved.checkInResponses, 'check-in answer'],
  ];
  const parts = counts.filter(([count]) => count > 0).map(([count, noun]) => counted(count, noun));
  if (parts.length === 0) return 'with no alerts, messages or check-in answers to take along';
  return `with ${andList(parts)}`;
}

/**
 * The form in a closed details: mounted when it first opens, so the earlier moves (a read of patient
 * data, audited) are asked for when someone looks, not with every page of a nurse of several teams.
 */
export function CareTeamMoveDetails(props: { patient: PatientSummary; teams: readonly CareTeam[]; onMoved: (patient: PatientSummary) => void }) {
  const [opened, setOpened] = useState(false);
  return html`<details class="enroll-details" onToggle=${(event: Event) => (event.target as HTMLDetailsElement).open && setOpened(true)}>
    <summary>Move to another care team</summary>
    ${opened ? html`<${CareTeamMoveForm} ...${props} />` : null}
  </details>`;
}

function CareTeamMoveForm({ patient, teams, onMoved }: { patient: PatientSummary; teams: readonly CareTeam[]; onMoved: (patient: PatientSummary) => void }) {
  const others = teams.filter((team) => team.id !== patient.careTeamId);
  const nameOf = (id: string) => teams.find((team) => team.id === id)?.name ?? id;
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [moves, setMoves] = useState<CareTeamMove[] | undefined>(undefined);
  useEffect(() => {
    api<{ moves: CareTeamMove[] }>('GET', `/v1/patients/${encodeURIComponent(patient.id)}/care-team-moves`).then((answer) => setMoves(answer.moves), () => setMoves([]));
  }, [patient.id, patient.careTeamId]);
  // The first other team until one is chosen (the list may come after the form).
  const careTeamId = others.some((team) => team.id === to) ? to : (others[0]?.id ?? '');
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const answer = await api<CareTeamMoveAnswer>('POST', `/v1/patients/${encodeURIComponent(patient.id)}/care-team-moves`, { careTeamId, reason: reason.trim() });
      setErrors({});
      setReason('');
      setDone(`Moved to ${nameOf(answer.patient.careTeamId)} ${movedText(answer.moved)}.`);
      onMoved(answer.patient);
    } catch (failure) {
      setDone(undefined);
      setErrors(failure instanceof ApiFailure && failure.status === 400 ? fieldErrors(failure.message, (path) => FIELDS[path]) : { '': (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const { field, aria } = formFields(errors);
  return html`
    <form class="enroll care-team-move" onSubmit=${submit} aria-label="Move to another care team">
      ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not moved: see the fields marked below.</p>` : null}
      ${done ? html`<p class="notice" role="status">${done}</p>` : null}
      ${others.length === 0
        ? html`<p class="hint">${patient.name} is in your only care team.</p>`
        : html`
            ${field('move-team', 'Move to', html`<select id="move-team" required value=${careTeamId} onChange=${(e: Event) => setTo((e.target as HTMLSelectElement).value)} ...${aria('move-team')}>${others.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select>`)}
            ${field('move-reason', 'Reason', html`<input id="move-reason" required maxlength="500" autocomplete="off" value=${reason} onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} ...${aria('move-reason', true)} />`, 'Kept with the move and noted on each open alert.')}
            <p class="hint">Their open and past alerts, messages and check-in answers go with them, and ${nameOf(patient.careTeamId)} no longer sees them. A nurse's claim on an open alert is released; escalation goes on through the new team's tiers.</p>
            <button type="submit" disabled=${busy || reason.trim().length === 0}>Move</button>
          `}
      ${moves && moves.length > 0
        ? html`<h3>Earlier moves</h3>
            <ul class="care-team-moves">
              ${moves.map((move) => html`<li><time datetime=${move.movedAt}>${new Date(move.movedAt).toLocaleDateString(undefined, { dateStyle: 'medium' })}</time>: from ${nameOf(move.fromCareTeamId)} to ${nameOf(move.toCareTeamId)} by ${move.movedBy}. ${move.reason}</li>`)}
            </ul>`
        : null}
    </form>
  `;
}
