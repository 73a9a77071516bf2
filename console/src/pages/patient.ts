import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, session } from '../api.js';
import type { Alert, CareTeam, Patient, PatientSummary, Reading, Rule, Thresholds } from '../api-types.js';
import { TimeChart, type Band, type Line, type Series } from '../chart.js';
import { thresholdLines } from '../rules-view.js';
import { ThresholdsPanel } from './thresholds-panel.js';
import { TimePanel } from './time-panel.js';
import { MessagesPanel } from './messages-panel.js';
import { CgmPanel } from './cgm-panel.js';
import { CheckInPanel } from './check-in-panel.js';
import { ReadingEntry } from './reading-entry.js';
import { MyReadings } from './my-readings.js';
import { CareTeamMoveDetails } from './care-team-move-form.js';
import { MonitoringStatus } from './monitoring-status.js';
import { PatientDetailsForm } from './patient-details-form.js';
import { SetAsideForm, SetAsideList, maySetAside, readingWords } from './set-aside-readings.js';
import { DAY_MS } from '../../../device-profiles/time-units.js';
import { wasMoved } from '../../../device-profiles/stored-reading.js';
import { MAX_SET_ASIDE_BATCH } from '../../../store/clinical/set-aside-reasons.js';
import { counted } from '../counted.js';
import { html } from '../html.js';
import { latestOnly, whileCurrent } from '../latest-answer.js';
import { follow } from '../router.js';
import { alertsToWork, severityText } from '../severity.js';
import { useAlertChanges } from '../live-alerts.js';
import { eventTime } from '../local-time.js';
import { bornText } from '../patient-identity.js';
import { asSent, capitalized, kindText, words } from '../reading-text.js';

const RANGES = [7, 30, 90] as const;
/** The readings table's choices besides one kind. */
const ALL_KINDS = 'all';
const NOT_CGM = 'all-but-cgm';

/** The readings of the table's period as a CSV file (the API's `format=csv`), of the kind shown when one is chosen. */
function readingsCsvHref(patientId: string, days: number, kind: string): string {
  const to = new Date(Date.now() + 60_000).toISOString();
  const from = new Date(Date.now() - days * DAY_MS).toISOString();
  const oneKind = kind === ALL_KINDS || kind === NOT_CGM ? '' : `&kind=${encodeURIComponent(kind)}`;
  return `/v1/patients/${encodeURIComponent(patientId)}/readings?from=${from}&to=${to}${oneKind}&format=csv`;
}

/** Rows shown before "Show all": a CGM's 90 days are 25,920 readings, and a page of 300 rows ran to 12,000 pixels before the patient's time and thresholds. */
const TABLE_ROWS = 100;

/** Glucose in range for most people with diabetes (International Consensus on Time in Range, 2019). */
const GLUCOSE_TARGET = { from: 70, to: 180 };

interface ChartSpec {
  kind: string;
  title: string;
  unit: string;
  timesMs: number[];
  series: Series[];
  band?: Band;
  lines?: Line[];
  summary?: string;
  /** Where its points are listed, when not always in the table below. */
  listed?: string;
}

function field(reading: Reading, name: string): number | null {
  const value = (reading as unknown as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : null;
}

/** The change from the reading closest to `agoMs` before the newest one (within a margin), if any. */
function gainOver(rows: Reading[], agoMs: number): number | undefined {
  const newest = rows[rows.length - 1];
  if (!newest) return undefined;
  const target = Date.parse(newest.measuredAt) - agoMs;
  const earlier = rows.filter((r) => Math.abs(Date.parse(r.measuredAt) - target) <= agoMs / 4);
  const closest = earlier.sort((a, b) => Math.abs(Date.parse(a.measuredAt) - target) - Math.abs(Date.parse(b.measuredAt) - target))[0];
  const now = field(newest, 'value');
  const then = closest ? field(closest, 'value') : null;
  return now !== null && then !== null ? Math.round((now - then) * 10) / 10 : undefined;
}

/** One chart per kind of reading in the period, oldest point first, each with what a nurse reads off it and the patient's thresholds drawn. */
function chartsOf(readings: Reading[], rules: readonly Rule[]): ChartSpec[] {
  const byKind = new Map<string, Reading[]>();
  for (const reading of [...readings].sort((a, b) => Date.parse(a.measuredAt) - Date.parse(b.measuredAt))) {
    const rows = byKind.get(reading.kind) ?? [];
    rows.push(reading);
    byKind.set(reading.kind, rows);
  }
  const charts: ChartSpec[] = [];
  for (const [kind, rows] of byKind) {
    const timesMs = rows.map((r) => Date.parse(r.measuredAt));
    const values = rows.map((r) => field(r, 'value'));
    if (kind === 'blood_pressure') {
      charts.push({ kind, title: 'Blood pressure', unit: 'mmHg', timesMs, series: [{ label: 'Systolic', stroke: '#b3261e', values: rows.map((r) => field(r, 'systolic')) }, { label: 'Diastolic', stroke: '#1d4e89', values: rows.map((r) => field(r, 'diastolic')) }] });
    } else if (kind === 'glucose') {
      const numbers = values.filter((v): v is number => v !== null);
      const inRange = numbers.filter((v) => v >= GLUCOSE_TARGET.from && v <= GLUCOSE_TARGET.to).length;
      const flagged = (flag: string) => rows.filter((r) => (r as unknown as { outOfRange?: string }).outOfRange === flag).length;
      const percent = numbers.length > 0 ? Math.round((inRange / numbers.length) * 100) : 0;
      charts.push({ kind, title: 'Glucose', unit: 'mg/dL', timesMs, series: [{ label: 'Glucose', stroke: '#6a1b9a', values }], band: { ...GLUCOSE_TARGET, fill: 'rgba(46, 125, 50, 0.12)' }, summary: `Time in range 70–180 mg/dL: ${percent} % of ${numbers.length} readings; meter showed LO ${flagged('LO')} times, HI ${flagged('HI')} times` });
    } else if (kind === 'weight') {
      const day = gainOver(rows, 86_400_000);
      const week = gainOver(rows, 7 * 86_400_000);
      const text = (gain: number | undefined) => (gain === undefined ? 'not enough readings' : `${gain > 0 ? '+' : ''}${gain} kg`);
      charts.push({ kind, title: 'Weight', unit: 'kg', timesMs, series: [{ label: 'Weight', stroke: '#2e7d32', values }], summary: `Change over 24 hours: ${text(day)}; over 7 days: ${text(week)}` });
    } else if (kind === 'spo2') {
      charts.push({ kind, title: 'Oxygen saturation', unit: '%', timesMs, series: [{ label: 'SpO2', stroke: '#00695c', values }] });
    } else if (kind === 'temperature') {
      charts.push({ kind, title: 'Temperature', unit: '°C', timesMs, series: [{ label: 'Temperature', stroke: '#e65100', values }] });
    } else if (kind === 'cgm_glucose') {
      charts.push({ kind, title: 'Continuous glucose (CGM)', unit: 'mg/dL', timesMs, series: [{ label: 'CGM glucose', stroke: '#4a148c', values }], band: { ...GLUCOSE_TARGET, fill: 'rgba(46, 125, 50, 0.12)' }, listed: 'the table below lists every point when set to every kind or to CGM glucose' });
    } else if (kind === 'heart_rate') {
      charts.push({ kind, title: 'Heart rate', unit: '/min', timesMs, series: [{ label: 'Heart rate', stroke: '#ad1457', values }] });
    }
  }
  for (const chart of charts) chart.lines = thresholdLines(rules, chart.kind, chart.kind === 'blood_pressure' ? ['systolic', 'diastolic'] : ['value']);
  return charts;
}

/** An alert's state as its patient reads it: whether someone on the care team has seen it yet. */
const TOLD_STATUS: Readonly<Record<string, string>> = {
  awaiting_confirmation: 'waiting for your next reading, which confirms it or not',
  open: 'your care team has been told',
  acknowledged: 'seen by your care team',
  resolved: 'closed by your care team',
};

/**
 * For the patient, what their care team was told of and whether someone has seen it, in plain words:
 * the clinicians' worklist (severity rules, tiers, links to pages only they may open) led nowhere.
 */
function ToldTheTeam({ alerts }: { alerts: Alert[] }) {
  const recent = alerts.filter((alert) => alert.status !== 'resolved' || Date.now() - Date.parse(alert.openedAt) < 7 * DAY_MS);
  return html`<section aria-labelledby="told-heading">
    <h2 id="told-heading">What your care team was told</h2>
    ${recent.length === 0
      ? html`<p>Nothing in the last 7 days.</p>`
      : html`<ul class="told">${recent.map((alert) => html`<li><strong>${alert.summary}</strong>, <time datetime=${alert.openedAt}>${eventTime.format(new Date(alert.openedAt))}</time>: ${TOLD_STATUS[alert.status] ?? words(alert.status)}</li>`)}</ul>`}
  </section>`;
}

/** "Spanish" for `es`, in the browser's language; the tag itself where the browser has no name for it. */
function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(undefined, { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The patient's latest alerts, as the page lists them (alertsToWork orders them). */
function patientAlerts(patientId: string, options: { background?: boolean } = {}): Promise<Alert[]> {
  return api<{ alerts: Alert[] }>('GET', `/v1/alerts?patientId=${encodeURIComponent(patientId)}&limit=50`, undefined, options).then((found) => found.alerts);
}

const READ_AGAIN_AFTER_ENTRY_MS = 1_500;

export function PatientPage({ id }: { id: string }) {
  const [patient, setPatient] = useState<Patient | undefined>(undefined);
  const [readings, setReadings] = useState<Reading[]>([]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [days, setDays] = useState<number>(7);
  /** Counts the readings entered here: each reads the period's readings and the latest again. */
  const [entered, setEntered] = useState(0);
  const [error, setError] = useState<string | undefined>(undefined);
  const [showAll, setShowAll] = useState(false);
  /** The table's kind: every kind, one kind, or (the default for a CGM wearer) every kind but CGM. */
  const [tableKind, setTableKind] = useState<string | undefined>(undefined);
  // Another patient's page (the banner's Open patient) starts the table again from its default:
  // the kind chosen for the last patient may be one this one has no readings of.
  useEffect(() => {
    setTableKind(undefined);
    setShowAll(false);
  }, [id]);
  const [thresholds, setThresholds] = useState<Thresholds | undefined>(undefined);
  /** The reading of the table being set aside (`deviceId/readingId`), what was last set aside or put back, and a count that reads the list again. */
  const [settingAside, setSettingAside] = useState<string | undefined>(undefined);
  const [setAsideNotice, setSetAsideNotice] = useState<string | undefined>(undefined);
  const [setAsideVersion, setSetAsideVersion] = useState(0);
  /** The readings ticked in the table (`deviceId/readingId`), to set aside together, and whether their form is open. */
  const [ticked, setTicked] = useState<ReadonlySet<string>>(new Set());
  const [settingAsideTicked, setSettingAsideTicked] = useState(false);
  useEffect(() => {
    setSettingAside(undefined);
    setSetAsideNotice(undefined);
    setTicked(new Set());
    setSettingAsideTicked(false);
  }, [id]);
  const clinician = session.me?.user.role !== 'patient';
  const mayCorrect = session.me?.user.role === 'admin' || session.me?.user.role === 'nurse';
  const mayEnter = session.me?.user.role !== 'billing';
  // The readings the page shows, as a file: the care team's, and the patient's own (their right of access).
  const mayDownload = session.me?.user.role !== 'billing';
  /** The care teams the user may list: the patient's team by its name, and where a nurse may move them. */
  const [teams, setTeams] = useState<CareTeam[]>([]);
  // Two alert changes heard close together: the answer to the later question is the one shown.
  const latestAlerts = useMemo(latestOnly, []);
  // Each answer is used only if it still answers the page's question: switching from 7 to 90 days
  // (or to another patient) while the first request is under way must not let its late answer
  // overwrite the newer one, which showed 7 days' readings under a "90 days" caption.
  useEffect(() => {
    const answer = whileCurrent();
    // A patient reads their own limits too: their latest readings are said against them.
    if (session.me?.user.role !== 'billing') api<Thresholds>('GET', `/v1/patients/${encodeURIComponent(id)}/thresholds`).then(answer(setThresholds), answer(() => setThresholds(undefined)));
    return answer.stale;
  }, [id]);
  useEffect(() => {
    const answer = whileCurrent();
    const showPatient = (found: Patient) => {
      setPatient(found);
      // The team by its name, for the people who may list teams (a patient sees their team's id).
      if (clinician) api<{ careTeams: CareTeam[] }>('GET', '/v1/care-teams').then(answer((listed) => setTeams(listed.careTeams)), () => undefined);
    };
    setTeams([]);
    api<Patient>('GET', `/v1/patients/${encodeURIComponent(id)}`).then(answer(showPatient), answer((failure: Error) => setError(failure.message)));
    void latestAlerts(patientAlerts(id), answer(setAlerts), answer(() => setAlerts([])));
    return answer.stale;
  }, [id]);
  // The patient's alerts as they change (a new one, another nurse's acknowledgement), asked in the
  // background: the page's own refreshes do not put off the idle sign-out.
  useAlertChanges(
    useCallback(
      (_event: string, changed: Alert) => {
        if (changed.patientId !== id) return;
        void latestAlerts(patientAlerts(id, { background: true }), setAlerts, () => undefined);
      },
      [id, latestAlerts],
    ),
  );
  useEffect(() => {
    const answer = whileCurrent();
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - days * DAY_MS).toISOString();
    api<{ readings: Reading[] }>('GET', `/v1/patients/${encodeURIComponent(id)}/readings?from=${from}&to=${to}`).then(answer((found) => setReadings(found.readings)), answer((failure: Error) => setError(failure.message)));
    if (entered > 0) api<Patient>('GET', `/v1/patients/${encodeURIComponent(id)}`).then(answer(setPatient), () => undefined);
    return answer.stale;
  }, [id, days, entered]);
  const charts = useMemo(() => chartsOf(readings, thresholds?.effectiveRules ?? []), [readings, thresholds]);
  // The answer to an entry comes once the reading is durable and judged; the readings store takes it
  // from ingest's outbox a moment later: read now, and again shortly, so the table shows it either way.
  const readAfterEntry = () => {
    setEntered((n) => n + 1);
    setTimeout(() => setEntered((n) => n + 1), READ_AGAIN_AFTER_ENTRY_MS);
  };
  if (error) return html`<main id="main"><p class="error" role="alert">${error}</p></main>`;
  if (!patient) return html`<main id="main"><p aria-busy="true">Loading…</p></main>`;
  const localTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: patient.timezone });
  const wearsCgm = readings.some((r) => r.kind === 'cgm_glucose') || patient.lastReadings.some((r) => r.kind === 'cgm_glucose');
  const worked = alertsToWork(alerts);
  // A CGM's ~288 readings a day buried the meter, cuff and scale readings under thousands of rows;
  // its readings have their own panel above, so the table leaves them out unless asked.
  const shownKind = tableKind ?? (wearsCgm ? NOT_CGM : ALL_KINDS);
  const tableReadings = shownKind === ALL_KINDS ? readings : shownKind === NOT_CGM ? readings.filter((r) => r.kind !== 'cgm_glucose') : readings.filter((r) => r.kind === shownKind);
  const kindsPresent = [...new Set(readings.map((r) => r.kind))].sort();
  const tableWhat = shownKind === ALL_KINDS ? 'Readings' : shownKind === NOT_CGM ? 'Readings other than CGM glucose' : `${capitalized(kindText(shownKind))} readings`;
  const mayAside = maySetAside();
  const keyOf = (r: Reading) => `${r.deviceId}/${r.readingId}`;
  // A reading set aside or put back: the table, the charts, the latest readings and the alerts change.
  const readingsChanged = (notice: string) => {
    setSettingAside(undefined);
    setTicked(new Set());
    setSettingAsideTicked(false);
    setSetAsideNotice(notice);
    setSetAsideVersion((n) => n + 1);
    setEntered((n) => n + 1);
    patientAlerts(id).then(setAlerts, () => undefined);
  };
  const shownReadings = showAll ? tableReadings : tableReadings.slice(0, TABLE_ROWS);
  // Only rows in view count as ticked: a reading hidden by the kind chosen or the period is not set aside unseen.
  const tickedReadings = shownReadings.filter((r) => ticked.has(keyOf(r)));
  const tick = (keys: readonly string[], on: boolean) =>
    setTicked((before) => {
      const after = new Set(before);
      for (const key of keys) if (on) after.add(key); else after.delete(key);
      return after;
    });
  const tickCell = (r: Reading) =>
    html`<td class="tick"><input type="checkbox" checked=${ticked.has(keyOf(r))} aria-label=${`Choose the ${readingWords(r, localTime)}`} onChange=${(e: Event) => tick([keyOf(r)], (e.target as HTMLInputElement).checked)} /></td>`;
  const readingRow = (r: Reading) => {
    const chosen = settingAside === keyOf(r);
    const row = html`<tr key=${keyOf(r)}>${mayAside ? tickCell(r) : null}<td class="measured"><time datetime=${r.measuredAt}>${localTime.format(new Date(r.measuredAt))}</time></td><td class="kind">${kindText(r.kind)}</td><td class="as-sent">${asSent(r)}</td><td class="device">${r.source === 'manual' ? html`<span class="entered">${wasMoved(id, r) ? 'moved here from another patient’s device' : 'entered by hand'}${typeof r.enteredBy === 'string' ? ` by ${r.enteredBy}` : ''}</span>` : r.deviceId}</td>${mayAside
      ? html`<td><button type="button" class="secondary set-aside-button" aria-expanded=${chosen} aria-label=${`Set aside the ${readingWords(r, localTime)}`} onClick=${() => setSettingAside(chosen ? undefined : keyOf(r))}>Set aside…</button></td>`
      : null}</tr>`;
    if (!chosen) return row;
    return [row, html`<tr key=${`${keyOf(r)}-form`} class="set-aside-row"><td colspan="6"><${SetAsideForm} patientId=${id} readings=${[r]} localTime=${localTime} onDone=${readingsChanged} onCancel=${() => setSettingAside(undefined)} /></td></tr>`];
  };
  const alertItem = (alert: Alert) =>
    html`<li><span class=${`badge severity-${alert.severity}`}>${severityText(alert.severity)}</span> <a href=${`/alerts/${encodeURIComponent(alert.id)}`} onClick=${follow}>${alert.summary}</a> — ${words(alert.status)}, opened <time datetime=${alert.openedAt}>${eventTime.format(new Date(alert.openedAt))}</time></li>`;
  return html`
    <main id="main">
      <h1>${patient.name}</h1>
      <p class="patient-header">
        ${bornText(patient.birthDate).replace(/^b/, 'B')} · time zone ${patient.timezone}${clinician ? ` · care team ${teams.find((team) => team.id === patient.careTeamId)?.name ?? patient.careTeamId} · devices ${patient.devices.length > 0 ? patient.devices.join(', ') : 'none'}${patient.language ? ` · messages in ${languageName(patient.language)}` : ''}${patient.identifiers.map((identifier) => ` · ${identifier.value} (${identifier.system})`).join('')}` : ''}
      </p>
      <${MonitoringStatus} key=${patient.id} patient=${patient} alerts=${alerts} onChanged=${(changed: PatientSummary) => {
        // A discharge ends every device's assignment in its transaction: the header says so with the
        // answer, not only after the read below (which arrived after the alerts' in a CI run).
        setPatient({ ...patient, ...changed, ...(changed.discharge ? { devices: [] } : {}) });
        // Read again for the rest the discharge changed.
        api<Patient>('GET', `/v1/patients/${encodeURIComponent(id)}`).then(setPatient, () => undefined);
        patientAlerts(id).then(setAlerts, () => undefined);
      }} />
      ${mayCorrect
        ? html`<details class="enroll-details"><summary>Correct the name, date of birth, time zone, language or record numbers</summary><${PatientDetailsForm} key=${patient.id} patient=${patient} onSaved=${(saved: PatientSummary) => setPatient({ ...patient, ...saved })} /></details>`
        : null}
      ${mayCorrect && teams.length > 1
        ? html`<${CareTeamMoveDetails} key=${patient.id} patient=${patient} teams=${teams} onMoved=${(moved: PatientSummary) => {
            setPatient({ ...patient, ...moved });
            patientAlerts(id).then(setAlerts, () => undefined);
          }} />`
        : null}
      ${clinician
        ? html`<dl class="last-readings" aria-label="Last reading of each kind">
            ${patient.lastReadings.length === 0
              ? html`<dt>Last reading</dt><dd>none yet</dd>`
              : [...patient.lastReadings].sort((a, b) => a.kind.localeCompare(b.kind)).map((r) => html`<div><dt>${kindText(r.kind)}</dt><dd>${asSent(r)}, <time datetime=${r.measuredAt}>${localTime.format(new Date(r.measuredAt))}</time></dd></div>`)}
          </dl>`
        : html`<${MyReadings} readings=${patient.lastReadings} rules=${thresholds?.effectiveRules} timezone=${patient.timezone} />`}
      ${mayEnter && !patient.discharge ? html`<${ReadingEntry} key=${patient.id} patientId=${id} timezone=${patient.timezone} forPatient=${!clinician} onSaved=${readAfterEntry} />` : null}
      ${!clinician
        ? html`<${ToldTheTeam} alerts=${alerts} />`
        : html`<section aria-labelledby="alerts-heading">
        <h2 id="alerts-heading">Alerts</h2>
        ${alerts.length === 0
          ? html`<p>No alerts.</p>`
          : html`${worked.unresolved.length === 0 ? html`<p>No alert open.</p>` : html`<p class="hint">Not resolved, the most severe first; times in your time zone.</p><ul class="alerts unresolved">${worked.unresolved.map(alertItem)}</ul>`}
              ${worked.resolved.length > 0 ? html`<details class="resolved-alerts"><summary>${worked.resolved.length} resolved</summary><ul class="alerts">${worked.resolved.map(alertItem)}</ul></details>` : null}`}
      </section>`}
      ${!clinician && !patient.discharge ? html`<${CheckInPanel} patientId=${id} timezone=${patient.timezone} />` : null}
      ${session.me?.user.role !== 'billing' ? html`<${MessagesPanel} patientId=${id} />` : null}
      ${clinician && session.me?.user.role !== 'billing' ? html`<${CheckInPanel} patientId=${id} timezone=${patient.timezone} />` : null}
      <section aria-labelledby="readings-heading">
        <h2 id="readings-heading">Readings</h2>
        <div role="group" aria-label="Period" class="ranges">
          ${RANGES.map((range) => html`<button type="button" aria-pressed=${days === range} onClick=${() => setDays(range)}>${range} days</button>`)}
        </div>
        ${charts.length === 0 ? html`<p>No readings in this period.</p>` : charts.map((chart) => html`<${TimeChart} key=${chart.title} timezone=${patient.timezone} ...${chart} />`)}
        ${wearsCgm ? html`<${CgmPanel} patientId=${id} days=${days} timezone=${patient.timezone} ehr=${clinician && session.me?.user.role !== 'billing' ? { careTeamId: patient.careTeamId, timezone: patient.timezone } : undefined} />` : null}
        ${kindsPresent.length > 1
          ? html`<p class="table-kind"><label for="table-kind">Readings in the table</label>
              <select id="table-kind" value=${shownKind} onChange=${(e: Event) => setTableKind((e.target as HTMLSelectElement).value)}>
                ${wearsCgm ? html`<option value=${NOT_CGM}>Every kind but CGM glucose (in its panel above)</option>` : null}
                <option value=${ALL_KINDS}>Every kind</option>
                ${kindsPresent.map((kind) => html`<option value=${kind}>${kindText(kind)}</option>`)}
              </select></p>`
          : null}
        ${setAsideNotice ? html`<p class="notice" role="status">${setAsideNotice}</p>` : null}
        ${mayAside && tickedReadings.length > 0
          ? settingAsideTicked
            ? html`<${SetAsideForm} key=${tickedReadings.map(keyOf).join(' ')} patientId=${id} readings=${tickedReadings} localTime=${localTime} onDone=${readingsChanged} onCancel=${() => setSettingAsideTicked(false)} />`
            : html`<p class="ticked-readings" role="group" aria-label="Readings chosen">
                ${counted(tickedReadings.length, 'reading')} chosen.
                <button type="button" class="secondary" disabled=${tickedReadings.length > MAX_SET_ASIDE_BATCH} onClick=${() => {
                  setSettingAside(undefined);
                  setSettingAsideTicked(true);
                }}>Set aside the ${tickedReadings.length === 1 ? 'reading' : `${tickedReadings.length} readings`} chosen…</button>
                <button type="button" class="secondary" onClick=${() => setTicked(new Set())}>Clear the choice</button>
                ${tickedReadings.length > MAX_SET_ASIDE_BATCH ? html`<span class="hint"> At most ${MAX_SET_ASIDE_BATCH} at once.</span>` : null}
              </p>`
          : null}
        <table class="readings">
          <caption>${tableWhat} of the last ${days} days, newest first, in ${patient.timezone} time, as the devices sent them or people entered them</caption>
          <thead><tr>${mayAside
            ? html`<th scope="col" class="tick"><input type="checkbox" checked=${shownReadings.length > 0 && tickedReadings.length === shownReadings.length} aria-label="Choose every reading shown" onChange=${(e: Event) => tick(shownReadings.map(keyOf), (e.target as HTMLInputElement).checked)} /></th>`
            : null}<th scope="col">Measured</th><th scope="col">Kind</th><th scope="col">Value as sent</th><th scope="col">Device</th>${mayAside ? html`<th scope="col"><span class="visually-hidden">Not the patient’s?</span></th>` : null}</tr></thead>
          <tbody>
            ${shownReadings.map(readingRow)}
          </tbody>
        </table>
        ${mayDownload && readings.length > 0 ? html`<p class="download-readings"><a class="button secondary" href=${readingsCsvHref(id, days, shownKind)} download>Download the last ${days} days’ readings as CSV</a> <span class="hint">${shownKind === ALL_KINDS || shownKind === NOT_CGM ? `every kind${wearsCgm ? ', CGM glucose too' : ''}` : `${kindText(shownKind)} only`}; values as sent and in the kind’s unit, times on the patient’s clock</span></p>` : null}
        ${mayAside ? html`<${SetAsideList} key=${id} patientId=${id} localTime=${localTime} version=${setAsideVersion} onRestored=${readingsChanged} />` : null}
        ${tableReadings.length > TABLE_ROWS && !showAll ? html`<p>Showing the newest ${TABLE_ROWS} of ${tableReadings.length} readings. <button type="button" class="secondary" onClick=${() => setShowAll(true)}>Show all ${tableReadings.length}</button></p>` : null}
      </section>
      ${clinician ? html`<${TimePanel} patientId=${id} enrolledAt=${patient.enrolledAt} timezone=${patient.timezone} readingsVersion=${setAsideVersion} />` : null}
      ${thresholds && clinician ? html`<${ThresholdsPanel} patientId=${id} thresholds=${thresholds} onSaved=${setThresholds} />` : null}
    </main>
  `;
}
