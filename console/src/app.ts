// The console's shell: who is signed in, the idle timeout counting down (and enforced: at zero the
// session is ended and the sign-in page shown), the critical-alert banner, and the page.
import { useEffect, useState } from 'preact/hooks';
import { api, onSessionChange, restoreSession, session, signOut } from './api.js';
import { html } from './html.js';
import { startLiveAlerts, stopLiveAlerts, useCriticalAlerts } from './live-alerts.js';
import { bornText, usePatientIdentity } from './patient-identity.js';
import { AlertPage } from './pages/alert.js';
import { AuditPage } from './pages/audit.js';
import { CareTeamsPage } from './pages/care-teams.js';
import { DeadLettersPage } from './pages/dead-letters.js';
import { BillingPage } from './pages/billing.js';
import { AdherencePage } from './pages/adherence.js';
import { CgmPopulationPage } from './pages/cgm-population.js';
import { DevicesPage } from './pages/devices.js';
import { PeoplePage } from './pages/people.js';
import { PasswordSetup } from './pages/password-setup.js';
import { PatientPage } from './pages/patient.js';
import { SignIn } from './pages/sign-in.js';
import { Triage } from './pages/triage.js';
import { PatientsPage } from './pages/patients.js';
import { follow, navigate, usePath } from './router.js';

function useSession() {
  const [, setVersion] = useState(0);
  const [restored, setRestored] = useState(false);
  useEffect(() => {
    const unsubscribe = onSessionChange(() => setVersion((v) => v + 1));
    void restoreSession().finally(() => setRestored(true));
    return unsubscribe;
  }, []);
  return { me: session.me, restored };
}

function IdleClock({ onTimeout }: { onTimeout: () => void }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  const leftMs = session.idleDeadlineMs - now;
  useEffect(() => {
    if (leftMs <= 0) onTimeout();
  }, [leftMs <= 0]);
  // Never more than the idle window itself (a whole minute is shown until it has begun to run).
  const minutes = Math.min(Math.round(session.idleMs / 60_000), Math.max(0, Math.ceil(leftMs / 60_000)));
  return html`<span class="idle" aria-live=${minutes <= 2 ? 'polite' : 'off'}>Signs out after ${minutes} min without activity</span>`;
}

function CriticalBanner() {
  const { critical, dismiss } = useCriticalAlerts();
  const [error, setError] = useState<string | undefined>(undefined);
  const patient = usePatientIdentity(critical[0]?.patientId, { background: true });
  if (critical.length === 0) return null;
  const alert = critical[0]!;
  const acknowledge = async () => {
    try {
      await api('POST', `/v1/alerts/${encodeURIComponent(alert.id)}/ack`, { note: 'acknowledged from the console banner' });
      dismiss(alert.id);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return html`<section class="banner" role="alert" aria-label="Critical alert">
    <strong>‼ Critical alert</strong>
    <span class="who">${patient ? html`<strong>${patient.name}</strong>${`, ${bornText(patient.birthDate)}`}` : null}</span>
    <span>${alert.summary}</span>
    <a href=${`/alerts/${encodeURIComponent(alert.id)}`} onClick=${follow}>Open alert</a>
    <a href=${`/patients/${encodeURIComponent(alert.patientId)}`} onClick=${follow}>Open patient</a>
    <button type="button" onClick=${acknowledge}>Acknowledge</button>
    ${critical.length > 1 ? html`<a href="/" onClick=${follow}>and ${critical.length - 1} more critical, on triage</a>` : null}
    ${error ? html`<span class="error">${error}</span>` : null}
  </section>`;
}

export function App() {
  const { me, restored } = useSession();
  const path = usePath();
  const [notice, setNotice] = useState<string | undefined>(undefined);
  useEffect(() => {
    // Nurses and physicians see their teams' alerts; an admin sees every team's.
    if (me) startLiveAlerts((careTeamId) => (me.user.role !== 'nurse' && me.user.role !== 'physician') || me.user.careTeams.includes(careTeamId));
    else stopLiveAlerts();
  }, [me]);
  useEffect(() => {
    if (restored && !me && !path.startsWith('/sign-in') && !path.startsWith('/password-setup')) navigate('/sign-in', { replace: true });
  }, [restored, me, path]);
  // A setup link works whoever is signed in at this browser: it is the link's holder who sets a password.
  if (path.startsWith('/password-setup')) return html`<${PasswordSetup} />`;
  if (!restored) return html`<p aria-busy="true">Loading…</p>`;
  if (!me || path.startsWith('/sign-in')) return html`<${SignIn} notice=${notice} />`;
  const timeout = () => {
    setNotice('You were signed out after a time without activity.');
    void signOut();
  };
  const leave = async () => {
    setNotice('You are signed out.');
    await signOut();
  };
  const patientMatch = /^\/patients\/([^/?#]+)/.exec(path);
  const alertMatch = /^\/alerts\/([^/?#]+)/.exec(path);
  const role = me.user.role;
  const page = path.startsWith('/billing') && (role === 'billing' || role === 'admin')
    ? html`<${BillingPage} />`
    : path.startsWith('/cgm') && (role === 'admin' || role === 'nurse' || role === 'physician')
    ? html`<${CgmPopulationPage} />`
    : /^\/patients\/?$/.test(path) && (role === 'admin' || role === 'nurse' || role === 'physician')
    ? html`<${PatientsPage} />`
    : path.startsWith('/adherence') && (role === 'admin' || role === 'nurse' || role === 'physician')
    ? html`<${AdherencePage} />`
    : path.startsWith('/devices') && (role === 'admin' || role === 'nurse')
    ? html`<${DevicesPage} />`
    : path.startsWith('/people') && role === 'admin'
    ? html`<${PeoplePage} />`
    : path.startsWith('/care-teams') && (role === 'admin' || role === 'nurse' || role === 'physician')
    ? html`<${CareTeamsPage} />`
    : path.startsWith('/dead-letters') && role === 'admin'
    ? html`<${DeadLettersPage} />`
    : path.startsWith('/audit') && role === 'admin'
    ? html`<${AuditPage} />`
    : role === 'billing'
    ? html`<${BillingPage} />`
    : alertMatch && me.user.role !== 'patient'
    ? html`<${AlertPage} id=${decodeURIComponent(alertMatch[1]!)} />`
    : patientMatch
    ? html`<${PatientPage} id=${decodeURIComponent(patientMatch[1]!)} />`
    : me.user.role === 'patient' && me.user.patientId
      ? html`<${PatientPage} id=${me.user.patientId} />`
      : html`<${Triage} />`;
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <nav aria-label="Main">
        ${role === 'admin' || role === 'nurse' || role === 'physician' ? html`<a href="/" onClick=${follow}>Triage</a> <a href="/patients" onClick=${follow}>Patients</a> <a href="/cgm" onClick=${follow}>CGM</a> <a href="/adherence" onClick=${follow}>Adherence</a>` : null}
        ${role === 'admin' || role === 'nurse' ? html` <a href="/devices" onClick=${follow}>Devices</a>` : null}
        ${role === 'admin' || role === 'billing' ? html` <a href="/billing" onClick=${follow}>Billing</a>` : null}
        ${role === 'admin' || role === 'nurse' || role === 'physician' ? html` <a href="/care-teams" onClick=${follow}>Care teams</a>` : null}
        ${role === 'admin' ? html` <a href="/people" onClick=${follow}>People</a> <a href="/dead-letters" onClick=${follow}>Dead letters</a> <a href="/audit" onClick=${follow}>Audit</a>` : null}
      </nav>
      <span class="who">${me.user.name ?? me.user.id} (${me.user.role})</span>
      <${IdleClock} onTimeout=${timeout} />
      <button type="button" onClick=${leave}>Sign out</button>
    </header>
    ${me.user.role !== 'patient' ? html`<${CriticalBanner} />` : null}
    ${page}
  `;
}
