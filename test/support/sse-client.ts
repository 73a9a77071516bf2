// A client of the API's event streams (GET /v1/alerts/stream) as a dashboard would be: events parsed as they come, `ready`
// once the stream is connected, Last-Event-ID to resume.
export interface StreamEvent {
  id: number;
  event: string;
  data: { id: string; patientId: string; [key: string]: unknown };
}

export function openAlertStream(baseUrl: string, token: string, lastEventId?: string): { events: StreamEvent[]; ready: Promise<void>; close(): void } {
  return openStream(`${baseUrl}/v1/alerts/stream`, token, lastEventId);
}

/** Any of the API's event streams (a thread's: /v1/patients/{id}/messages/stream). */
export function openStream(url: string, token: string, lastEventId?: string): { events: StreamEvent[]; ready: Promise<void>; close(): void } {
  const controller = new AbortController();
  const events: StreamEvent[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  void (async () => {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}`, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) }, signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(': connected')) markReady();
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        if (fields.data) events.push({ id: Number(fields.id), event: fields.event!, data: JSON.parse(fields.data) as StreamEvent['data'] });
      }
    }
  })().catch(() => undefined);
  return { events, ready, close: () => controller.abort() };
}
