// The secure thread on the patient page (issue #26): the patient and the care team write to each
// other; oldest first, as a conversation reads; each message says who wrote it and when, whether
// the other side has it (delivered) and has read it. A clinician marks a patient's message read;
// the patient's page marks nothing (fetching delivers). The text is shown as text, never as HTML.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, session } from '../api.js';
import type { Message } from '../api-types.js';
import { html } from '../html.js';
import { shortTime } from '../local-time.js';
import { latestOnly } from '../latest-answer.js';

const MAX_CHARACTERS = 4_000;
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
/** Messages fetched: the newest of the thread. */
const THREAD_LIMIT = 100;
/** Within this of the thread's end, a reader is following it: a new message scrolls into view. */
const FOLLOWING_PX = 80;

/** A file's bytes as base64 (the API checks what they are). */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(new Error('the image could not be read'));
    reader.readAsDataURL(file);
  });
}

export function MessagesPanel({ patientId }: { patientId: string }) {
  const [messages, setMessages] = useState<Message[] | undefined>(undefined);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [sending, setSending] = useState(false);
  const [image, setImage] = useState<File | undefined>(undefined);
  const [threadMinutes, setThreadMinutes] = useState('');
  const [logged, setLogged] = useState<string | undefined>(undefined);
  const mySide = session.me?.user.role === 'patient' ? 'patient' : 'care_team';
  // The thread scrolls in its own box, its newest message in view as in any messenger: a hundred
  // automated reminders pushed the rest of the patient's page thousands of pixels down. A reader
  // scrolled up to older messages stays where she is when a new one comes.
  const thread = useRef<HTMLOListElement>(null);
  const following = useRef(true);
  useEffect(() => {
    const box = thread.current;
    if (box && following.current) box.scrollTop = box.scrollHeight;
  }, [messages]);
  const onThreadScroll = () => {
    const box = thread.current;
    if (box) following.current = box.scrollHeight - box.scrollTop - box.clientHeight <= FOLLOWING_PX;
  };
  const latest = useMemo(latestOnly, []);
  const load = (background = false) =>
    latest(
      api<{ messages: Message[] }>('GET', `/v1/patients/${encodeURIComponent(patientId)}/messages?limit=${THREAD_LIMIT}`, undefined, { background }),
      (answer) => setMessages([...answer.messages].reverse()),
      (failure) => setError(failure.message),
    );
  useEffect(() => void load(), [patientId]);
  // Live: the thread is fetched again when the stream says it changed (the stream carries no text).
  useEffect(() => {
    const events = new EventSource(`/v1/patients/${encodeURIComponent(patientId)}/messages/stream`);
    const changed = () => void load(true);
    events.addEventListener('message', changed);
    events.addEventListener('read', changed);
    events.addEventListener('expired', () => events.close());
    return () => events.close();
  }, [patientId]);

  const send = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSending(true);
    try {
      if (image && image.size > MAX_IMAGE_BYTES) throw new Error(`The image is ${(image.size / 1_048_576).toFixed(1)} MB; at most 5 MB can be sent.`);
      await api('POST', `/v1/patients/${encodeURIComponent(patientId)}/messages`, { text, ...(image ? { image: { data: await base64Of(image) } } : {}) });
      setText('');
      setImage(undefined);
      const picker = document.getElementById('message-image') as HTMLInputElement | null;
      if (picker) picker.value = '';
      await load();
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setSending(false);
    }
  };
  // Time on the thread is RPM management time, never interactive communication (CMS: real-time voice or video only).
  const logThreadTime = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setLogged(undefined);
    try {
      const minutes = Number(threadMinutes);
      await api('POST', `/v1/patients/${encodeURIComponent(patientId)}/time-entries`, { minutes, performedAt: new Date().toISOString(), interactive: false, activity: 'message_thread' });
      setThreadMinutes('');
      setLogged(`Logged ${minutes} minutes on this thread as management time (not interactive).`);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const markRead = async (id: string) => {
    try {
      const read = await api<Message>('POST', `/v1/messages/${encodeURIComponent(id)}/read`);
      setMessages((current) => current?.map((message) => (message.id === id ? read : message)));
      // A fetch asked before the read would answer it unread: asked again, only this answer counts.
      void load(true);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return html`
    <section aria-labelledby="messages-heading" class="messages-panel">
      <h2 id="messages-heading">Messages</h2>
      <p class="hint">${mySide === 'patient' ? 'Write to your care team. For an emergency, call your local emergency number.' : 'The patient’s secure thread with the care team.'}</p>
      ${messages === undefined
        ? html`<p aria-busy="true">Loading…</p>`
        : messages.length === 0
          ? html`<p>No messages yet.</p>`
          : html`${messages.length >= THREAD_LIMIT ? html`<p class="hint">The newest ${THREAD_LIMIT} messages.</p>` : null}<ol class="thread" ref=${thread} onScroll=${onThreadScroll} tabIndex=${0} aria-label="Messages, oldest first, the newest in view">
              ${messages.map(
                (message) => html`<li class=${`message from-${message.from}`} data-message=${message.id}>
                  <p class="message-meta">
                    <strong>${message.senderRole === 'system' ? 'Automated message' : message.from === mySide ? 'You' : message.from === 'patient' ? 'Patient' : 'Care team'}</strong>
                    ${message.from === 'care_team' && mySide === 'care_team' && message.senderRole !== 'system' ? html` (${message.senderId})` : null} ·
                    <time datetime=${message.sentAt}>${shortTime.format(new Date(message.sentAt))}</time>
                    ${message.from === mySide ? html` · ${message.readAt ? 'read' : message.deliveredAt ? 'delivered' : 'sent'}` : null}
                  </p>
                  ${message.text ? html`<p class="message-text">${message.text}</p>` : null}
                  ${message.image
                    ? html`<img class="message-image" src=${`/v1/messages/${encodeURIComponent(message.id)}/image`} alt=${`Image sent by ${message.from === mySide ? 'you' : message.from === 'patient' ? 'the patient' : 'the care team'}`} loading="lazy" />`
                    : null}
                  ${message.from !== mySide && mySide === 'care_team'
                    ? message.readAt
                      ? html`<p class="message-meta">Read by ${message.readBy}</p>`
                      : html`<button type="button" class="secondary" onClick=${() => markRead(message.id)}>Mark as read</button>`
                    : null}
                </li>`,
              )}
            </ol>`}
      <form onSubmit=${send}>
        <label for="message-text">New message</label>
        <textarea id="message-text" rows="3" maxlength=${MAX_CHARACTERS} value=${text} onInput=${(event: Event) => setText((event.target as HTMLTextAreaElement).value)}></textarea>
        <label for="message-image">Photo (optional, JPEG or PNG, up to 5 MB)</label>
        <input id="message-image" type="file" accept="image/jpeg,image/png" onChange=${(event: Event) => setImage((event.target as HTMLInputElement).files?.[0])} />
        <button type="submit" disabled=${sending || (text.trim() === '' && !image)}>Send</button>
      </form>
      ${mySide === 'care_team'
        ? html`<form class="thread-time" onSubmit=${logThreadTime}>
            <label for="thread-minutes">Minutes spent on this thread (RPM management time)</label>
            <input id="thread-minutes" type="number" min="1" max="120" required value=${threadMinutes} onInput=${(event: Event) => setThreadMinutes((event.target as HTMLInputElement).value)} />
            <button type="submit" class="secondary">Log thread time</button>
          </form>`
        : null}
      ${logged ? html`<p role="status">${logged}</p>` : null}
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    </section>
  `;
}
