import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { partnerClient } from './support/partners.js';
import { openStream } from './support/sse.js';

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
    fetch(`${patchbay.origin}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic, payload }),
    });
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
      const { key } = await client.onboard([
        { pattern: 'app/shipment/*', send: true },
        { pattern: 'app/order/*', receive: true },
      ]);
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
      const huge = await publish(publisherKey, 'app/order/created', { blob: 'x'.repeat(20_000) });
      assert.equal(huge.status, 413, 'a body past the parser limit is refused before it is read whole');
      assert.equal(await codeOf(huge), 'payload_too_large');
      assert.equal((await patchbay.patchbay.ctx.store.db.selectFrom('events').select('seq').execute()).length, before);
    });
  });

  describe('polling', () => {
    it('returns events after a cursor on the requested topics and patterns, oldest first, with the next cursor', async () => {
      const start = ((await (await poll(consumerKey, 'topics=poll/a/*&after=0&limit=500')).json()) as { next: string }).next;
      for (const topic of ['poll/a/one', 'poll/b/two', 'poll/a/three']) await publish(publisherKey, topic, { topic });
      const page = (await (await poll(consumerKey, `topics=poll/a/*&after=${start}`)).json()) as { data: Array<{ topic: string; seq: number }>; next: string };
      assert.deepEqual(
        page.data.map((event) => event.topic),
        ['poll/a/one', 'poll/a/three'],
      );
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

    it('gives a reader following the cursor every event exactly once while 30 publishers write concurrently', async () => {
      const start = ((await (await poll(consumerKey, 'topics=race/*&after=0&limit=500')).json()) as { next: string }).next;
      const seen: string[] = [];
      let cursor = start;
      let publishing = true;
      // The reader pages through the log while the writes are still committing: a cursor that
      // moved past an event committed later would lose it for good.
      // Once every publish is answered it reads on until a page brings nothing new (caught up): on a
      // slow machine more than a page or two can still be ahead of it then.
      const reader = (async () => {
        for (let caughtUp = false; publishing || !caughtUp;) {
          const wasPublishing = publishing;
          const page = (await (await poll(consumerKey, `topics=race/*&after=${cursor}&limit=7`)).json()) as { data: Array<{ id: string }>; next: string };
          seen.push(...page.data.map((event) => event.id));
          caughtUp = !wasPublishing && page.next === cursor;
          if (page.next === cursor) await new Promise((resolve) => setTimeout(resolve, 5));
          cursor = page.next;
        }
      })();
      const published = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const answer = await publish(publisherKey, 'race/write', { i });
          assert.equal(answer.status, 201);
          return ((await answer.json()) as { data: { id: string } }).data.id;
        }),
      );
      publishing = false;
      await reader;
      assert.equal(seen.length, new Set(seen).size, 'no event twice');
      assert.deepEqual([...seen].sort(), [...published].sort(), 'no event skipped');
    });

    it('reads the topics a partner chose to consume in the portal when the request names none', async () => {
      const { key, browser } = await client.onboard([{ pattern: 'chosen/*', receive: true }]);
      assert.equal((await poll(key, 'after=0')).status, 400, 'nothing chosen yet: topics are required');
      assert.equal((await browser.call('PUT', '/subscriptions', { publish: [], consume: ['chosen/yes'] })).status, 200);
      const start = ((await (await poll(key, 'after=0&limit=500')).json()) as { next: string }).next;
      await publish(publisherKey, 'chosen/yes', { pick: 1 });
      await publish(publisherKey, 'chosen/no', { pick: 0 });
      const page = (await (await poll(key, `after=${start}`)).json()) as { data: Array<{ topic: string }> };
      assert.deepEqual(
        page.data.map((event) => event.topic),
        ['chosen/yes'],
      );
    });

    it('records every partner key authentication as an auth event, success or failure, with its key prefix', async () => {
      const { key } = await client.onboard([{ pattern: 'audit/*', send: true }]);
      assert.equal((await publish(key, 'audit/ok')).status, 201);
      assert.equal((await publish(key, 'other/topic')).status, 403);
      const forged = `pbp_${'A'.repeat(28)}`;
      assert.equal((await publish(forged, 'audit/ok')).status, 401);
      await patchbay.patchbay.ctx.authEvents.flush();
      const rows = await patchbay.patchbay.ctx.store.db
        .selectFrom('auth_events')
        .select(['key_prefix', 'outcome', 'reason', 'path'])
        .where('key_prefix', '=', key.slice(0, 10))
        .orderBy('id')
        .execute();
      assert.deepEqual(
        rows.map((row) => [row.outcome, row.reason, row.path]),
        [
          ['success', null, '/v1/events/'],
          ['failure', 'insufficient_scope', '/v1/events/'],
        ],
      );
      const failures = await patchbay.patchbay.ctx.store.db
        .selectFrom('auth_events')
        .select('reason')
        .where('reason', '=', 'invalid_credentials')
        .where('path', 'like', '/v1/events%')
        .execute();
      assert.ok(failures.length >= 1, 'the malformed key is an invalid_credentials failure');
      const lastUsed = await patchbay.patchbay.ctx.store.db
        .selectFrom('partner_keys')
        .select('last_authenticated_at')
        .where('key_prefix', '=', key.slice(0, 10))
        .executeTakeFirstOrThrow();
      assert.ok(lastUsed.last_authenticated_at, 'the key remembers when it was last used');
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
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        'each event exactly once',
      );
      const seqs = [...first.events, ...second.events].map((event) => Number(event.id));
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        'ids increase',
      );
      assert.ok(first.events.every((event) => event.event.startsWith('sse/')));
    });

    it('starts a stream without Last-Event-ID at the present: earlier events are not replayed', async () => {
      await publish(publisherKey, 'fresh/old', { when: 'before' });
      const stream = await openStream(`${patchbay.origin}/v1/events/stream?topics=fresh/*`, { authorization: `Bearer ${consumerKey}` });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await publish(publisherKey, 'fresh/new', { when: 'after' });
      await stream.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await stream.close();
      assert.deepEqual(
        stream.events.map((event) => event.data.payload),
        [{ when: 'after' }],
      );
    });

    it('streams to a partner only the topics matching its pattern, in the environment its key belongs to', async () => {
      const { key, partnerId } = await client.onboard([{ pattern: 'pattern/*/done', receive: true }], 'stage');
      await client.grant(partnerId, 'pattern/*/other', { receive: true, environment: 'prod' });
      const refused = await fetch(`${patchbay.origin}/v1/events/stream?topics=pattern/*/other`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(refused.status, 403, 'a prod grant does not reach a stage key');
      await refused.body?.cancel();
      const stream = await openStream(`${patchbay.origin}/v1/events/stream?topics=pattern/*/done`, { authorization: `Bearer ${key}` });
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const topic of ['pattern/a/done', 'pattern/a/other', 'pattern/b/done', 'pattern/b/done/extra']) await publish(publisherKey, topic, { topic });
      await stream.waitFor(2);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await stream.close();
      assert.deepEqual(
        stream.events.map((event) => event.data.topic),
        ['pattern/a/done', 'pattern/b/done'],
      );
    });

    it('refuses a stream outside the caller’s grants with 403 before streaming, and a malformed Last-Event-ID with 400', async () => {
      const { key } = await client.onboard([{ pattern: 'app/order/*', receive: true }]);
      const refused = await fetch(`${patchbay.origin}/v1/events/stream?topics=app/invoice/*`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(refused.status, 403);
      const malformed = await fetch(`${patchbay.origin}/v1/events/stream?topics=app/order/*`, {
        headers: { authorization: `Bearer ${key}`, 'last-event-id': 'abc' },
      });
      assert.equal(malformed.status, 400);
    });
  });
});
