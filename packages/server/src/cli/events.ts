/** `patchbay events tail`: the event stream (`GET /v1/events/stream`, Server-Sent Events), one line per event. */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Environment } from '../settings.js';
import { type ApiClient, clientFrom } from './client.js';
import { out, positionalsExactly, warn } from './output.js';
import { dispatch, remoteFlags } from './remote.js';
import { iso } from './table.js';

export const EVENTS_USAGE = `Usage:
  patchbay events tail --topics TOPIC[,PATTERN…] [--after SEQ]
Takes [--server URL] [--json]. Prints one line per event (time, sequence number, topic, payload) until
Ctrl-C, reconnecting where it left off when the stream ends; --json prints each event's JSON.
The key needs events:consume.`;

interface StreamedEvent {
  seq: number;
  topic: string;
  payload: unknown;
  publishedAt: string;
}

/** Waits, or ends early (without throwing) when the tail is stopped. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

/**
 * Reads the stream until stopped. The server ends a stream now and then (a slow reader, a restart,
 * its store going away) after saying where to resume; like EventSource, the tail then reconnects
 * after the `retry` delay with Last-Event-ID, so it neither skips nor repeats an event. A refusal
 * (a key inactivated meanwhile) ends it with the error.
 */
async function follow(api: ApiClient, topics: string | undefined, after: string | undefined, json: boolean, stop: AbortSignal): Promise<void> {
  let lastId = after;
  let retryMs = 2000;
  let connected = false;
  const print = (message: EventSourceMessage) => {
    if (message.id) lastId = message.id;
    if (message.event === 'patchbay.resume') {
      const { reason } = JSON.parse(message.data) as { reason?: string };
      warn(`The server ended the stream (${reason ?? 'no reason given'}); resuming after event ${lastId ?? 'none'}.`);
      return;
    }
    if (json) return out(message.data);
    const event = JSON.parse(message.data) as StreamedEvent;
    out([iso(event.publishedAt), String(event.seq), event.topic, JSON.stringify(event.payload)].join('  '));
  };
  while (!stop.aborted) {
    let response: Response;
    try {
      response = await api.send('GET', '/v1/events/stream', {
        query: { topics },
        headers: { accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': lastId }) },
        signal: stop,
      });
    } catch (error) {
      if (stop.aborted) return;
      if (!connected) throw error;
      warn(`${(error as Error).message} Retrying in ${retryMs / 1000} s.`);
      await pause(retryMs, stop);
      continue;
    }
    if (!response.ok) throw await api.failure(response);
    if (!connected) warn(`Tailing ${topics ?? 'events'} on ${api.server}; Ctrl-C to stop.`);
    connected = true;
    const parser = createParser({ onEvent: print, onRetry: (ms) => (retryMs = ms) });
    try {
      for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) parser.feed(chunk);
    } catch {
      // Cut off (or stopped): reconnect below unless stopped.
    }
    if (stop.aborted) return;
    warn(`The stream ended; reconnecting in ${retryMs / 1000} s.`);
    await pause(retryMs, stop);
  }
}

async function tail(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...remoteFlags, topics: { type: 'string' }, after: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  positionalsExactly(positionals, 0, 'patchbay events tail --topics TOPIC[,PATTERN…] [--after SEQ]');
  const api = clientFrom(values, env);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await follow(api, values.topics, values.after, values.json ?? false, stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

export function events(argv: string[], env: Environment): Promise<number> {
  return dispatch(argv, env, { tail }, EVENTS_USAGE);
}
