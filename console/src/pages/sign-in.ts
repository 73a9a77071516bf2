import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, startSession } from '../api.js';
import type { Me } from '../api-types.js';
import { html } from '../html.js';
import { navigate } from '../router.js';

export function SignIn({ notice }: { notice?: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState(false);
  useEffect(() => {
    void fetch('/auth/providers', { cache: 'no-store' })
      .then((response) => (response.ok ? (response.json() as Promise<{ oidc: boolean }>) : { oidc: false }))
      .then((providers) => setOidc(providers.oidc), () => setOidc(false));
  }, []);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<{ user: Me['user']; csrfToken: string; idleExpiresAt: string }>('POST', '/v1/sessions', { username, password });
      setPassword('');
      startSession({ user: answer.user, via: 'session', csrfToken: answer.csrfToken, idleExpiresAt: answer.idleExpiresAt });
      navigate(answer.user.role === 'patient' && answer.user.patientId ? `/patients/${answer.user.patientId}` : '/', { replace: true });
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : 'The platform could not be reached.');
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main class="sign-in" id="main">
      <h1>RPM care console</h1>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
      <form onSubmit=${submit} aria-describedby=${error ? 'sign-in-error' : undefined}>
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" required value=${username} onInput=${(e: Event) => setUsername((e.target as HTMLInputElement).value)} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} />
        ${error ? html`<p id="sign-in-error" class="error" role="alert">${error}</p>` : null}
        <button type="submit" disabled=${busy}>Sign in</button>
      </form>
      ${oidc ? html`<p><a class="button secondary" href="/auth/oidc/login">Sign in with your organization</a></p>` : null}
    </main>
  `;
}
