import { useEffect, useMemo, useState } from 'preact/hooks';
import { SNOOZE_CAP_MINUTES } from '../../../rules/snooze-policy.js';
import { SET_ASIDE_REASONS, setAsideReasonText, type SetAsideReason } from '../../../store/clinical/set-aside-reasons.js';
import { api, session } from '../api.js';
import type { Alert, CareTeam, Reading } from '../api-types.js';
import { DAY_MS } from '../../../device-profiles/time-units.js';
import { html } from '../html.js';
import { eventTime } from '../local-time.js';
import { follow } from '../router.js';
import { severityText } from '../severity.js';
import { bornText, recordNumbersText, usePatientIdentity } from '../patient-identity.js';
import { asSent, kindText, words } from '../reading-text.js';

interface AlertEvent {
  id: number;
  type: string;
  fromStatus: string | null;
  toStatus: string;
  actor: string;
  at: string;
  note: string | null;
  details: unknown;
}

interface RuleView {
  id: string;
  title?: string;
  source?: string;
  kind?: string;
}

const SNOOZE_CHOICES = [15, 30, 60, 120, 240, 480, 1440];

/** This browser's time zone, which event times are shown in (local-time.ts). */
const YOUR_TIME_ZONE = new Intl.DateTimeFormat().resolvedOptions().timeZone;

/** An event's details in words; care teams by name where `teamName` knows them (a move names both). */
function detailsText(details: unknown, teamName: (id: string) => string): string {
  if (!details || typeof details !== 'object') return '';
  const { tier, channel, audience, fromCareTeamId, toCareTeamId, releasedClaimOf, setAside, restored } = details as {
    tier?: unknown;
    channel?: unknown;
    audience?: unknown;
    fromCareTeamId?: unknown;
    toCareTeamId?: unknown;
    releasedClaimOf?: unknown;
    setAside?: unknown;
    restored?: unknown;
  };
  return [
    tier !== undefined ? `tier ${String(tier)}` : '',
    audience !== undefined ? `to ${String(audience)}` : '',
    channel !== undefined ? `via ${String(channel)}` : '',
    // A patient's move to another care team (routes/patients.ts).
    fromCareTeamId !== undefined ? `from care team ${teamName(String(fromCareTeamId))} to ${teamName(String(toCareTeamId))}` : '',
    releasedClaimOf !== undefined ? `claim of ${String(releasedClaimOf)} released` : '',
    // A reading of the alert's set aside from the patient's record, or put back (routes/set-aside-readings.ts).
    typeof setAside === 'string' && (SET_ASIDE_REASONS as readonly string[]).includes(setAside) ? `a reading set aside: ${setAsideReasonText(setAside as SetAsideReason)}` : '',
    restored === true ? 'a reading put back' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function AlertPage({ id }: { id: string }) {
  const [alert, setAlert] = useState<Alert | undefined>(undefined);
  const [events, setEvents] = useState<AlertEvent[]>([]);
  const [rule, setRule] = useState<RuleView | undefined>(undefined);
  const [readings, setReadings] = useState<Reading[]>([]);
  const [everyKind, setEveryKind] = useState(false);
  const [note, setNote] = useState('');
  const [snoozeMinutes, setSnoozeMinutes] = useState(15);
  const [error, setError] = useState<string | undefined>(undefined);
  const patient = usePatientIdentity(alert?.patientId);
  // The caller's teams by name, asked only for a history with a move in it (a team that is not the
  // caller's stays an id: they cannot list it).
  const [teams, setTeams] = useState<CareTeam[]>([]);
  const moved = events.some((event) => event.type === 'moved');
  useEffect(() => {
    if (moved) api<{ careTeams: CareTeam[] }>('GET', '/v1/care-teams').then((answer) => setTeams(answer.careTeams), () => undefined);
  }, [moved]);
  const teamName = (teamId: string) => teams.find((team) => team.id === teamId)?.name ?? teamId;
  const load = async () => {
    try {
      const current = await api<Alert>('GET', `/v1/alerts/${encodeURIComponent(id)}`);
      setAlert(current);
      setEvents((await api<{ events: AlertEvent[] }>('GET', `/v1/alerts/${encodeURIComponent(id)}/events`)).events);
      const thresholds = await api<{ effectiveRules: RuleView[] }>('GET', `/v1/patients/${encodeURIComponent(current.patientId)}/thresholds`).catch(() => ({ effectiveRules: [] }));
      setRule(thresholds.effectiveRules.find((r) => r.id === current.ruleId));
      const from = new Date(Date.parse(current.openedAt) - DAY_MS).toISOString();
      const to = new Date(Date.parse(current.updatedAt) + 60_000).toISOString();
      setReadings((await api<{ readings: Reading[] }>('GET', `/v1/patients/${encodeURIComponent(current.patientId)}/readings?from=${from}&to=${to}`)).readings);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  useEffect(() => void load(), [id]);
  const act = async (action: 'ack' | 'resolve' | 'claim' | 'snooze') => {
    try {
      const body = { ...(note.trim() ? { note: note.trim() } : {}), ...(action === 'snooze' ? { minutes: snoozeMinutes } : {}) };
      await api('POST', `/v1/alerts/${encodeURIComponent(id)}/${action}`, body);
      setNote('');
      await load();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  // The readings in the patient's time zone, as on the patient's page (a low at 3 a.m. is a night's
  // low wherever the nurse is), once the patient is read; what people did, in the nurse's own.
  const patientTime = useMemo(() => (patient ? new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium', timeZone: patient.timezone }) : undefined), [patient?.timezone]);
  if (error) return html`<main id="main"><p class="error" role="alert">${error}</p></main>`;
  if (!alert) return html`<main id="main"><p aria-busy="true">Loading…</p></main>`;
  const open = alert.status !== 'resolved';
  // The readings of the kind behind the alert, first: a CGM wearer's day is ~288 readings of another
  // kind around a meter's low, and the page ran to hundreds of rows. Every kind on request.
  const alertKind = readings.find((r) => r.readingId === alert.lastReadingId)?.kind;
  const shown = everyKind || !alertKind ? readings : readings.filter((r) => r.kind === alertKind);
  // The kind in words when the table holds only it (undefined: every kind is shown).
  const onlyKind = shown.length < readings.length ? (alertKind === undefined ? undefined : kindText(alertKind)) : undefined;
  // In the status line each separator carries its own spaces: htm drops the whitespace of a line
  // break between expressions ("escalation tier 0· taken by").
  return html`
    <main id="main">
      <h1><span class=${`badge severity-${alert.severity}`}>${severityText(alert.severity)}</span> ${alert.summary}</h1>
      <p class="who">
        For <a href=${`/patients/${encodeURIComponent(alert.patientId)}`} onClick=${follow}>${patient?.name ?? 'the patient'}</a>${patient ? `, ${bornText(patient.birthDate)}${recordNumbersText(patient)}` : ''}
      </p>
      <p>
        Status ${words(alert.status)} · opened <time datetime=${alert.openedAt}>${eventTime.format(new Date(alert.openedAt))}</time> (your time) · escalation tier ${alert.escalationTier}${alert.claimedBy
          ? html` · <strong class="claimed">taken by ${alert.claimedBy}</strong>`
          : null}${alert.snoozedUntil && Date.parse(alert.snoozedUntil) > Date.now() ? html` · <strong class="snoozed">snoozed until <time datetime=${alert.snoozedUntil}>${eventTime.format(new Date(alert.snoozedUntil))}</time> by ${alert.snoozedBy}</strong>` : null}
      </p>
      <section aria-labelledby="rule-heading">
        <h2 id="rule-heading">Rule</h2>
        <p>${rule?.title ?? alert.ruleId}${rule?.source ? html` — <span class="source">${rule.source}</span>` : null}</p>
      </section>
      ${open
        ? html`<section aria-labelledby="act-heading">
            <h2 id="act-heading">Act on it</h2>
            <label for="note">Note (optional)</label>
            <textarea id="note" rows="2" maxlength="2000" value=${note} onInput=${(e: Event) => setNote((e.target as HTMLTextAreaElement).value)}></textarea>
            <p class="actions">
              ${alert.status !== 'acknowledged' ? html`<button type="button" onClick=${() => act('ack')}>Acknowledge</button>` : null}
              ${alert.claimedBy !== session.me?.user.id ? html`<button type="button" class="secondary" onClick=${() => act('claim')}>Take it</button>` : null}
              <button type="button" class="secondary" onClick=${() => act('resolve')}>Resolve</button>
            </p>
            ${alert.status === 'open' && alert.severity !== 'critical'
              ? html`<p class="actions">
                  <label for="snooze-minutes">Snooze escalation for</label>
                  <select id="snooze-minutes" value=${String(snoozeMinutes)} onChange=${(e: Event) => setSnoozeMinutes(Number((e.target as HTMLSelectElement).value))}>
                    ${SNOOZE_CHOICES.filter((m) => m <= (SNOOZE_CAP_MINUTES as Record<string, number>)[alert.severity]!).map((m) => html`<option value=${String(m)}>${m < 60 ? `${m} minutes` : `${m / 60} hour${m === 60 ? '' : 's'}`}</option>`)}
                  </select>
                  <button type="button" class="secondary" onClick=${() => act('snooze')}>Snooze</button>
                </p>`
              : alert.severity === 'critical'
                ? html`<p class="hint">A critical alert cannot be snoozed: acknowledge it, or take it so the team sees it is yours.</p>`
                : null}
          </section>`
        : null}
      <section aria-labelledby="readings-heading">
        <h2 id="readings-heading">Readings around it</h2>
        <table class="readings">
          <caption>
            ${onlyKind ? `The ${onlyKind} readings f` : 'F'}rom a day before the alert opened until its last change, ${patient ? `in ${patient.timezone} time (the patient's)` : `in your time zone (${YOUR_TIME_ZONE})`}; the reading that last changed it is marked
          </caption>
          <thead><tr><th scope="col">Measured</th><th scope="col">Kind</th><th scope="col">Values</th><th scope="col">Behind the alert</th></tr></thead>
          <tbody>
            ${shown.map(
              (r) => html`<tr><td class="measured"><time datetime=${r.measuredAt}>${(patientTime ?? eventTime).format(new Date(r.measuredAt))}</time></td><td class="kind">${kindText(r.kind)}</td><td class="as-sent">${asSent(r)}</td><td>${r.readingId === alert.lastReadingId ? 'last reading' : ''}</td></tr>`,
            )}
          </tbody>
        </table>
        ${onlyKind
          ? html`<p>Showing the ${shown.length} ${onlyKind} readings of ${readings.length}. <button type="button" class="secondary" onClick=${() => setEveryKind(true)}>Show every kind</button></p>`
          : null}
      </section>
      <section aria-labelledby="events-heading">
        <h2 id="events-heading">History</h2>
        <table class="events">
          <caption>In your time zone (${YOUR_TIME_ZONE})</caption>
          <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Details</th><th scope="col">Note</th></tr></thead>
          <tbody>
            ${events.map((event) => html`<tr><td><time datetime=${event.at}>${eventTime.format(new Date(event.at))}</time></td><td>${words(event.type)}</td><td>${event.actor}</td><td>${detailsText(event.details, teamName)}</td><td>${event.note ?? ''}</td></tr>`)}
          </tbody>
        </table>
      </section>
    </main>
  `;
}
