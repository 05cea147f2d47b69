import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger, createPatchbay } from '../src/index.js';
import { closeServer, listenOnLoopback, startPatchbay, TEST_POSTGRES_URL, type TestPatchbay } from './support/harness.js';
import { partnerClient } from './support/partners.js';

interface StreamedEvent {
  id: string;
  event: string;
  data: { seq: number; topic: string; payload: unknown };
}

/** A Server-Sent Events client over fetch: collects events until closed. */
async function openStream(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const events: StreamedEvent[] = [];
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
          const fields = Object.fromEntries(block.split('\n').filter((line) => line && !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
          if (fields.data) events.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data) as StreamedEvent['data'] });
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    response,
    events,
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

describe('events: publish, poll and stream with topic permissions', () => {
  let patchbay: TestPatchbay;
  let client: ReturnType<typeof partnerClient>;
  let publisherKey: string;
  let consumerKey: string;

  before(async () => {
    patchbay = await startPatchbay({ config: { eventPayloadMaxBytes: 1024 } });
    client = partnerClient(patchbay, await patchbay.accessKey(['partners:write']));
    publisherKey = await patchbay.accessKey(['events:publish']);
    consumerKey = await patchbay.accessKey(['events:consume']);
  });

  after(() => patchbay.close());

  const publish = (key: string, topic: string, payload: unknown = { n: 1 }) =>
    fetch(`${patchbay.origin}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic, payload }) });
  const poll = (key: string, query: string) => fetch(`${patchbay.origin}/v1/events?${query}`, { headers: { authorization: `Bearer ${key}` } });
  const codeOf = async (answer: Response) => ((await answer.json()) as { error: { code: string } }).error.code;

  describe('publishing', () => {
    it('accepts an access key with events:publish and answers the event id and its sequence number', async () => {
      const answer = await publish(publisherKey, 'app/order/created', { id: 'o-1' });
      assert.equal(answer.status, 201);
      const { data } = (await answer.json()) as { data: { id: string; seq: number } };
      assert.match(data.id, /^evt_/);
      assert.ok(data.seq > 0);
    });

    it('lets a partner key publish only to topics its environment was granted to send', async () => {
      const { key } = await client.onboard([{ pattern: 'app/shipment/*', send: true }, { pattern: 'app/order/*', receive: true }]);
      assert.equal((await publish(key, 'app/shipment/created')).status, 201);
      const refused = await publish(key, 'app/order/created');
      assert.equal(refused.status, 403);
      assert.equal(await codeOf(refused), 'insufficient_scope');
      assert.equal((await publish(consumerKey, 'app/order/created')).status, 403, 'events:consume does not publish');
    });

    it('ignores grants for another environment', async () => {
      const { key, partnerId } = await client.onboard([], 'dev');
      await client.grant(partnerId, 'app/billing/*', { send: true, environment: 'prod' });
      assert.equal((await publish(key, 'app/billing/paid')).status, 403);
    });

    it('refuses a malformed topic with 400, an oversized payload with 413, and stores neither', async () => {
      const before = (await patchbay.patchbay.ctx.store.db.selectFrom('events').select('seq').execute()).length;
      for (const topic of ['App/Order', 'order', 'app//x', 'app/order/*', 'app/order/created/', '../etc']) {
        assert.equal((await publish(publisherKey, topic)).status, 400, topic);
      }
      const big = await publish(publisherKey, 'app/order/created', { blob: 'x'.repeat(2000) });
      assert.equal(big.status, 413);
      assert.equal(await codeOf(big), 'payload_too_large');
      assert.equal((await patchbay.patchbay.ctx.store.db.selectFrom('events').select('seq').execute()).length, before);
    });
  });

  describe('polling', () => {
    it('returns events after a cursor on the requested topics and patterns, oldest first, with the next cursor', async () => {
      const start = ((await (await poll(consumerKey, 'topics=poll/a/*&after=0&limit=500')).json()) as { next: string }).next;
      for (const topic of ['poll/a/one', 'poll/b/two', 'poll/a/three']) await publish(publisherKey, topic, { topic });
      const page = (await (await poll(consumerKey, `topics=poll/a/*&after=${start}`)).json()) as { data: Array<{ topic: string; seq: number }>; next: string };
      assert.deepEqual(page.data.map((event) => event.topic), ['poll/a/one', 'poll/a/three']);
      const next = (await (await poll(consumerKey, `topics=poll/a/*&after=${page.next}`)).json()) as { data: unknown[] };
      assert.deepEqual(next.data, []);
    });

    it('lets a partner read only within its receive grants', async () => {
      const { key } = await client.onboard([{ pattern: 'app/order/*', receive: true }]);
      assert.equal((await poll(key, 'topics=app/order/created')).status, 200);
      assert.equal((await poll(key, 'topics=app/order/*')).status, 200);
      assert.equal((await poll(key, 'topics=app/*/created')).status, 403, 'wider than the grant');
      assert.equal((await poll(key, 'topics=app/invoice/paid')).status, 403);
      assert.equal((await poll(publisherKey, 'topics=app/order/created')).status, 403, 'events:publish does not consume');
      assert.equal((await poll(consumerKey, 'topics=Bad Topic')).status, 400);
    });
  });

  describe('streaming (Server-Sent Events)', () => {
    it('delivers live events to a stream and, after a reconnect with Last-Event-ID, the missed ones: none skipped, none twice', async () => {
      const headers = { authorization: `Bearer ${consumerKey}` };
      const first = await openStream(`${patchbay.origin}/v1/events/stream?topics=sse/*/x`, headers);
      assert.equal(first.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 1; i <= 3; i++) await publish(publisherKey, `sse/${i}/x`, { i });
      await publish(publisherKey, 'sse/other/y', { skip: true });
      await first.waitFor(3);
      await first.close();
      const lastId = first.events.at(-1)!.id;

      // While disconnected, more events arrive, some published concurrently with the reconnect.
      for (let i = 4; i <= 6; i++) await publish(publisherKey, `sse/${i}/x`, { i });
      const second = await openStream(`${patchbay.origin}/v1/events/stream?topics=sse/*/x`, { ...headers, 'last-event-id': lastId });
      await Promise.all([7, 8, 9].map((i) => publish(publisherKey, `sse/${i}/x`, { i })));
      await second.waitFor(6);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await second.close();

      const seen = [...first.events, ...second.events].map((event) => (event.data.payload as { i: number }).i);
      assert.deepEqual(seen.slice(0, 6), [1, 2, 3, 4, 5, 6], 'in order across the reconnect');
      assert.deepEqual([...seen].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'each event exactly once');
      const seqs = [...first.events, ...second.events].map((event) => Number(event.id));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'ids increase');
      assert.ok(first.events.every((event) => event.event.startsWith('sse/')));
    });

    it('refuses a stream outside the caller’s grants with 403 before streaming, and a malformed Last-Event-ID with 400', async () => {
      const { key } = await client.onboard([{ pattern: 'app/order/*', receive: true }]);
      const refused = await fetch(`${patchbay.origin}/v1/events/stream?topics=app/invoice/*`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(refused.status, 403);
      const malformed = await fetch(`${patchbay.origin}/v1/events/stream?topics=app/order/*`, { headers: { authorization: `Bearer ${key}`, 'last-event-id': 'abc' } });
      assert.equal(malformed.status, 400);
    });
  });
});

describe('events across two instances on one PostgreSQL', { skip: TEST_POSTGRES_URL ? false : 'set PATCHBAY_TEST_DATABASE_URL to a PostgreSQL database to run it' }, () => {
  it('delivers an event published on instance A to a stream on instance B within a second', async () => {
    const a = await startPatchbay();
    // Instance B: the same database and schema, its own process state (hub, caches, listener).
    const b = await listenOnLoopback();
    const patchbayB = await createPatchbay({ ...a.config, publicUrl: b.origin }, { logger: createLogger('silent') });
    b.server.on('request', patchbayB.app);
    try {
      const publisher = await a.accessKey(['events:publish', 'events:consume']);
      const stream = await openStream(`${b.origin}/v1/events/stream?topics=cross/instance/*`, { authorization: `Bearer ${publisher}` });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sentAt = Date.now();
      const published = await fetch(`${a.origin}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'cross/instance/hello', payload: { from: 'A' } }) });
      assert.equal(published.status, 201);
      await stream.waitFor(1, 1000);
      assert.ok(Date.now() - sentAt < 1000);
      assert.deepEqual(stream.events[0]!.data.payload, { from: 'A' });
      await stream.close();
    } finally {
      await closeServer(b.server);
      await patchbayB.close();
      await a.close();
    }
  });
});
