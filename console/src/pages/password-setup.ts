// The page a setup or reset link opens (`/password-setup#token=…`, from `POST /v1/users` or a
// password reset): the token travels in the fragment, which no server log or Referer ever sees, and
// is taken out of the address bar as soon as it is read. The API judges the password (length,
// common and personal words) and its message is shown on the field.
import { useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import { html } from '../html.js';
import { follow } from '../router.js';

function takeToken(): string {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  if (location.hash) history.replaceState(null, '', location.pathname);
  return token;
}

export function PasswordSetup() {
  const [token] = useState(takeToken);
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [errors, setErrors] = useState<{ password?: string; again?: string; token?: string }>({});
  const [done, setDone] = useState<string | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (password !== again) {
      setErrors({ again: 'the two passwords differ' });
      return;
    }
    try {
      const answer = await api<{ user: { id: string } }>('POST', '/v1/password-setup', { token, password });
      setDone(answer.user.id);
      setPassword('');
      setAgain('');
    } catch (failure) {
      const message = failure instanceof ApiFailure ? failure.message : 'The platform could not be reached.';
      setErrors(message.startsWith('body/password: ') ? { password: message.slice('body/password: '.length) } : { token: message.replace(/^body\/token: /, '') });
    }
  };
  if (done) {
    return html`<main class="sign-in" id="main"><h1>Password set</h1><p role="status">Your password is set. Sign in as <strong>${done}</strong>.</p><p><a class="button" href="/sign-in" onClick=${follow}>Sign in</a></p></main>`;
  }
  if (!token) {
    return html`<main class="sign-in" id="main"><h1>Set your password</h1><p class="error" role="alert">This page needs the link an administrator gave you (it ends with <code>#token=…</code>). Ask them for a new one.</p></main>`;
  }
  return html`<main class="sign-in" id="main">
    <h1>Set your password</h1>
    <p class="hint">At least 12 characters; a few unrelated words are easy to remember and hard to guess. The link works once, for 24 hours.</p>
    ${errors.token ? html`<p class="error" role="alert">${errors.token}</p>` : null}
    <form onSubmit=${submit}>
      <label for="new-password">New password</label>
      <input id="new-password" type="password" autocomplete="new-password" required aria-invalid=${errors.password ? 'true' : 'false'} aria-describedby=${errors.password ? 'new-password-error' : undefined} value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} />
      ${errors.password ? html`<p id="new-password-error" class="error field-error" role="alert">${errors.password}</p>` : null}
      <label for="new-password-again">The same again</label>
      <input id="new-password-again" type="password" autocomplete="new-password" required aria-invalid=${errors.again ? 'true' : 'false'} aria-describedby=${errors.again ? 'new-password-again-error' : undefined} value=${again} onInput=${(e: Event) => setAgain((e.target as HTMLInputElement).value)} />
      ${errors.again ? html`<p id="new-password-again-error" class="error field-error" role="alert">${errors.again}</p>` : null}
      <button type="submit">Set password</button>
    </form>
  </main>`;
}
