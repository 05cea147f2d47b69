/** An event as a test's stream client received it. */
export interface StreamedEvent {
  id: string;
  event: string;
  data: { seq: number; topic: string; payload: unknown };
}

/** A Server-Sent Events client over fetch: collects events and comments until closed. */
export async function openStream(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const events: StreamedEvent[] = [];
  const comments: string[] = [];
  /** How the stream ended: `server` when the server finished it, `aborted` when this client did. */
  let ended: 'server' | 'aborted' | null = null;
  const reading = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          comments.push(
            ...block
              .split('\n')
              .filter((line) => line.startsWith(':'))
              .map((line) => line.slice(1).trim()),
          );
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => line && !line.startsWith(':'))
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
          );
          if (fields.data) events.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data) as StreamedEvent['data'] });
        }
      }
      ended = 'server';
    } catch {
      ended = 'aborted';
    }
  })();
  return {
    response,
    events,
    comments,
    get ended() {
      return ended;
    },
    /** Resolves when the server ends the stream (rejects after the timeout). */
    async waitForEnd(timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (ended === null) {
        if (Date.now() > deadline) throw new Error('the stream is still open');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return ended;
    },
    async waitFor(count: number, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} events, got ${events.length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}
