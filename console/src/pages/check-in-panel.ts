// Check-ins on the patient page (issue #26, item 3). The patient sees today's check-in as a short
// form, one question at a time on a phone, each answer a large choice; the care team sets the plan
// (which questionnaire, at which local times, on which days) and reads the answers, the ones worse
// than usual in bold and said so in words (not by colour alone).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, session } from '../api.js';
import type { CheckIn, CheckInPlan, Questionnaire, ScheduledCheckIn } from '../api-types.js';
import { html } from '../html.js';
import { latestOnly } from '../latest-answer.js';

const DAYS = [
  ['mon', 'Mon'],
  ['tue', 'Tue'],
  ['wed', 'Wed'],
  ['thu', 'Thu'],
  ['fri', 'Fri'],
  ['sat', 'Sat'],
  ['sun', 'Sun'],
] as const;

interface PlanAnswer {
  plan: CheckInPlan | null;
  scheduled: ScheduledCheckIn[];
}

/** The scheduled check-in to answer now: the latest one due (or due within the hour) not yet answered. */
function openCheckIn(scheduled: readonly ScheduledCheckIn[]): ScheduledCheckIn | undefined {
  return scheduled.filter((slot) => slot.responseId === null).at(-1);
}

function CheckInForm({ questionnaire, dueAt, patientId, onSent }: { questionnaire: Questionnaire; dueAt: string | undefined; patientId: string; onSent: (checkIn: CheckIn) => void }) {
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSending(true);
    try {
      const filled = Object.fromEntries(Object.entries(answers).filter(([, value]) => value.trim() !== ''));
      onSent(await api<CheckIn>('POST', `/v1/patients/${encodeURIComponent(patientId)}/check-ins`, { questionnaireId: questionnaire.id, answers: filled, ...(dueAt ? { dueAt } : {}) }));
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setSending(false);
    }
  };
  const set = (linkId: string, value: string) => setAnswers((current) => ({ ...current, [linkId]: value }));
  return html`
    <form class="check-in-form" onSubmit=${submit}>
      <p class="hint">${questionnaire.description}</p>
      ${questionnaire.item.map((item, index) =>
        item.type === 'choice'
          ? html`<fieldset class="question">
              <legend>${index + 1}. ${item.text}</legend>
              ${(item.answerOption ?? []).map(
                (option) => html`<label class="choice">
                  <input type="radio" name=${item.linkId} value=${option.code} required=${item.required} checked=${answers[item.linkId] === option.code} onChange=${() => set(item.linkId, option.code)} />
                  ${option.display}
                </label>`,
              )}
            </fieldset>`
          : html`<div class="question">
              <label for=${`answer-${item.linkId}`}>${index + 1}. ${item.text}</label>
              <textarea id=${`answer-${item.linkId}`} rows="2" maxlength=${item.maxLength ?? 500} value=${answers[item.linkId] ?? ''} onInput=${(event: Event) => set(item.linkId, (event.target as HTMLTextAreaElement).value)}></textarea>
            </div>`,
      )}
      <button type="submit" disabled=${sending}>Send my answers</button>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    </form>
  `;
}

/** A check-in's answers in the questionnaire's words; those worse than usual in bold, and said. */
function Answers({ checkIn, questionnaire }: { checkIn: CheckIn; questionnaire: Questionnaire | undefined }) {
  return html`<ul class="check-in-answers">
    ${Object.entries(checkIn.answerDisplays).map(([linkId, display]) => {
      const question = questionnaire?.item.find((item) => item.linkId === linkId)?.text ?? linkId;
      const worse = (checkIn.scores[linkId] ?? 0) > 0;
      return html`<li>${question} ${worse ? html`<strong>${display} (not as usual)</strong>` : display}</li>`;
    })}
  </ul>`;
}

function PlanForm({ patientId, plan, questionnaires, onSaved }: { patientId: string; plan: CheckInPlan | null; questionnaires: Questionnaire[]; onSaved: (plan: CheckInPlan) => void }) {
  const [questionnaireId, setQuestionnaireId] = useState(plan?.questionnaireId ?? questionnaires[0]?.id ?? '');
  const [times, setTimes] = useState((plan?.times ?? ['09:00']).join(', '));
  const [days, setDays] = useState<string[]>(plan?.days ?? DAYS.map(([day]) => day));
  const [remind, setRemind] = useState(String(plan?.remindAfterMinutes ?? 120));
  const [active, setActive] = useState(plan?.active ?? true);
  const [error, setError] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    try {
      const body = { questionnaireId, times: times.split(',').map((time) => time.trim()).filter(Boolean), days, remindAfterMinutes: Number(remind), active };
      const answer = await api<CheckInPlan>('PUT', `/v1/patients/${encodeURIComponent(patientId)}/check-in-plan`, body);
      setSaved(`Saved: ${answer.times.join(', ')} on ${answer.days.length === 7 ? 'every day' : answer.days.join(', ')}, in the patient’s time zone.`);
      onSaved(answer);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const toggleDay = (day: string) => setDays((current) => (current.includes(day) ? current.filter((d) => d !== day) : [...current, day]));
  return html`
    <form class="check-in-plan" onSubmit=${save}>
      <label for="plan-questionnaire">Questionnaire</label>
      <select id="plan-questionnaire" value=${questionnaireId} onChange=${(event: Event) => setQuestionnaireId((event.target as HTMLSelectElement).value)}>
        ${questionnaires.map((q) => html`<option value=${q.id}>${q.title}</option>`)}
      </select>
      <label for="plan-times">Times (the patient’s local time, HH:MM, up to 4, separated by commas)</label>
      <input id="plan-times" type="text" required value=${times} onInput=${(event: Event) => setTimes((event.target as HTMLInputElement).value)} />
      <fieldset class="days">
        <legend>Days</legend>
        ${DAYS.map(([day, label]) => html`<label class="day"><input type="checkbox" checked=${days.includes(day)} onChange=${() => toggleDay(day)} /> ${label}</label>`)}
      </fieldset>
      <label for="plan-remind">Remind the patient after (minutes unanswered)</label>
      <input id="plan-remind" type="number" min="15" max="720" required value=${remind} onInput=${(event: Event) => setRemind((event.target as HTMLInputElement).value)} />
      <label class="day"><input type="checkbox" checked=${active} onChange=${() => setActive(!active)} /> Active</label>
      <button type="submit">Save check-in plan</button>
      ${saved ? html`<p role="status">${saved}</p>` : null}
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    </form>
  `;
}

export function CheckInPanel({ patientId, timezone }: { patientId: string; timezone: string }) {
  const [questionnaires, setQuestionnaires] = useState<Questionnaire[]>([]);
  const [planAnswer, setPlanAnswer] = useState<PlanAnswer | undefined>(undefined);
  const [checkIns, setCheckIns] = useState<CheckIn[]>([]);
  const [sent, setSent] = useState<CheckIn | undefined>(undefined);
  const [answering, setAnswering] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const isPatient = session.me?.user.role === 'patient';
  const base = `/v1/patients/${encodeURIComponent(patientId)}`;
  const latestPlan = useMemo(latestOnly, []);
  const latestCheckIns = useMemo(latestOnly, []);
  const load = (background = false) => {
    void latestPlan(api<PlanAnswer>('GET', `${base}/check-in-plan`, undefined, { background }), setPlanAnswer, (failure) => setError(failure.message));
    void latestCheckIns(api<{ checkIns: CheckIn[] }>('GET', `${base}/check-ins?limit=10`, undefined, { background }), (answer) => setCheckIns(answer.checkIns), (failure) => setError(failure.message));
  };
  useEffect(() => {
    api<{ questionnaires: Questionnaire[] }>('GET', '/v1/questionnaires').then((answer) => setQuestionnaires(answer.questionnaires), (failure: Error) => setError(failure.message));
    load();
  }, [patientId]);
  // The patient's page hears a check-in come due (or its reminder) on the thread's live stream.
  useEffect(() => {
    if (!isPatient) return undefined;
    const events = new EventSource(`${base}/messages/stream`);
    const due = () => load(true);
    events.addEventListener('check_in', due);
    events.addEventListener('check_in_reminder', due);
    events.addEventListener('expired', () => events.close());
    return () => events.close();
  }, [patientId]);
  const at = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: timezone });
  const byId = (id: string) => questionnaires.find((q) => q.id === id);
  const plan = planAnswer?.plan ?? null;
  const open = planAnswer ? openCheckIn(planAnswer.scheduled) : undefined;
  const questionnaire = plan ? byId(plan.questionnaireId) : undefined;
  const onSent = (checkIn: CheckIn) => {
    setSent(checkIn);
    setAnswering(false);
    // Answered at once on this page (no second send while the plan reloads), then from the API.
    setPlanAnswer((current) => current && { ...current, scheduled: current.scheduled.map((slot) => (slot.dueAt === checkIn.dueAt ? { ...slot, responseId: checkIn.id } : slot)) });
    load();
  };

  if (isPatient) {
    return html`
      <section aria-labelledby="check-in-heading" class="check-in-panel">
        <h2 id="check-in-heading">Today’s check-in</h2>
        ${error ? html`<p class="error" role="alert">${error}</p>` : null}
        ${sent ? html`<p role="status" class="sent">Thank you. Your answers reached your care team at ${at.format(new Date(sent.submittedAt))}.</p>` : null}
        ${planAnswer === undefined || questionnaires.length === 0
          ? html`<p aria-busy="true">Loading…</p>`
          : !plan || !questionnaire
            ? html`<p>Your care team has not set up check-ins for you.</p>`
            : open || answering
              ? html`<h3>${questionnaire.title}${open ? html` <span class="hint">(for ${at.format(new Date(open.dueAt))})</span>` : null}</h3>
                  <${CheckInForm} questionnaire=${questionnaire} dueAt=${open?.dueAt} patientId=${patientId} onSent=${onSent} />`
              : html`<p>Nothing to answer right now. Your check-ins: ${plan.times.join(' and ')}${plan.days.length === 7 ? ' every day' : ` on ${plan.days.join(', ')}`}.</p>
                  <button type="button" class="secondary" onClick=${() => setAnswering(true)}>Tell us how you feel now</button>`}
      </section>
    `;
  }
  return html`
    <section aria-labelledby="check-in-heading" class="check-in-panel">
      <h2 id="check-in-heading">Check-ins</h2>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${planAnswer === undefined || questionnaires.length === 0
        ? html`<p aria-busy="true">Loading…</p>`
        : html`<p>${plan ? `${byId(plan.questionnaireId)?.title ?? plan.questionnaireId} at ${plan.times.join(', ')} (${timezone}), ${plan.active ? 'active' : 'paused'}.` : 'No check-in plan yet.'}</p>
            <details>
              <summary>${plan ? 'Change the check-in plan' : 'Set up check-ins'}</summary>
              <${PlanForm} patientId=${patientId} plan=${plan} questionnaires=${questionnaires} onSaved=${() => load()} />
            </details>`}
      ${checkIns.length === 0
        ? html`<p>No answered check-ins yet.</p>`
        : html`<ol class="check-ins" aria-label="Answered check-ins, newest first">
            ${checkIns.map(
              (checkIn) => html`<li>
                <p class="message-meta"><time datetime=${checkIn.submittedAt}>${at.format(new Date(checkIn.submittedAt))}</time> · ${byId(checkIn.questionnaireId)?.title ?? checkIn.questionnaireId} · ${checkIn.submittedRole === 'patient' ? 'by the patient' : `entered by ${checkIn.submittedBy}`}${checkIn.dueAt ? '' : ' · unprompted'}</p>
                <${Answers} checkIn=${checkIn} questionnaire=${byId(checkIn.questionnaireId)} />
              </li>`,
            )}
          </ol>`}
    </section>
  `;
}
