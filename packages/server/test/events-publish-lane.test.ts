/**
 * Publishing's fast lane (events/routes.ts `publishLane`) answers `POST /v1/events` before Express;
 * any other form of the path (`/v1/events/`) takes Express's route. Both must be the same route to
 * a caller: the same answers for every refusal and the same auth events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { partnerClient } from './support/partners.js';

describe('publishing through its fast lane and through Express', () => {
  let patchbay: TestPatchbay;
  let publisherKey: string;
  let consumerKey: string;
  let partnerKey: string;

  before(async () => {
    patchbay = await startPatchbay({ config: { eventPayloadMaxBytes: 1024 } });
    publisherKey = await patchbay.accessKey(['events:publish']);
    consumerKey = await patchbay.accessKey(['events:consume']);
    const client = partnerClient(patchbay, await patchbay.accessKey(['partners:write']));
    ({ key: partnerKey } = await client.onboard([{ pattern: 'app/shipment/*', send: true }]));
  });

  after(() => patchbay.close());

  /** The answer as a caller sees it; ids and sequence numbers, new on every publish, are left out. */
  async function answerOf(path: string, key: string | null, body: string, contentType = 'application/json') {
    const answer = await fetch(`${patchbay.origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body,
    });
    const text = (await answer.text()).replace(/"id":"evt_[^"]+"/, '"id":"evt_…"').replace(/"seq":\d+/, '"seq":0');
    const headers = ['content-type', 'cache-control', 'retry-after'].map((name) => `${name}: ${answer.headers.get(name)}`);
    return { status: answer.status, headers, body: text };
  }

  /** The auth events recorded after `since` (outcome, reason, method, path, key prefix), oldest first. */
  async function authEventsAfter(since: string) {
    await patchbay.patchbay.ctx.authEvents.flush();
    const rows = await patchbay.patchbay.ctx.store.db
      .selectFrom('auth_events')
      .select(['outcome', 'reason', 'method', 'path', 'key_prefix'])
      .where('id', '>', since)
      .orderBy('id')
      .execute();
    return rows;
  }

  async function lastAuthEventId(): Promise<string> {
    await patchbay.patchbay.ctx.authEvents.flush();
    const row = await patchbay.patchbay.ctx.store.db.selectFrom('auth_events').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row?.id ?? '';
  }

  it('answers alike and records alike: success, every refusal, bad bodies', async () => {
    const event = (topic: string, payload: unknown = { n: 1 }) => JSON.stringify({ topic, payload });
    const cases: Array<{ name: string; key: string | null; body: string; contentType?: string; status: number }> = [
      { name: 'an access key with events:publish', key: publisherKey, body: event('app/order/created'), status: 201 },
      { name: 'a partner key within its send grant', key: partnerKey, body: event('app/shipment/sent'), status: 201 },
      { name: 'a partner key outside its grants', key: partnerKey, body: event('app/order/created'), status: 403 },
      { name: 'a key without events:publish', key: consumerKey, body: event('app/order/created'), status: 403 },
      { name: 'no key', key: null, body: event('app/order/created'), status: 401 },
      { name: 'an unknown key', key: 'pbk_notakeyatall', body: event('app/order/created'), status: 401 },
      { name: 'a malformed topic', key: publisherKey, body: event('App//Order'), status: 400 },
      { name: 'a payload over the cap', key: publisherKey, body: event('app/order/created', { blob: 'x'.repeat(2000) }), status: 413 },
      { name: 'a body over the limit', key: publisherKey, body: event('app/order/created', { blob: 'x'.repeat(10_000) }), status: 413 },
      { name: 'a body that is not JSON', key: publisherKey, body: '{"topic":', status: 400 },
      { name: 'a field nobody declared', key: publisherKey, body: JSON.stringify({ topic: 'app/order/created', payload: {}, extra: 1 }), status: 400 },
    ];
    for (const { name, key, body, contentType, status } of cases) {
      const beforeLane = await lastAuthEventId();
      const lane = await answerOf('/v1/events', key, body, contentType);
      const laneEvents = await authEventsAfter(beforeLane);
      const beforeRoute = await lastAuthEventId();
      const routed = await answerOf('/v1/events/', key, body, contentType);
      const routedEvents = await authEventsAfter(beforeRoute);
      assert.equal(lane.status, status, `${name}: ${lane.body}`);
      assert.deepEqual(lane, routed, name);
      assert.deepEqual(laneEvents, routedEvents, `${name}: the same auth events either way`);
    }
  });

  it('stores what the lane acknowledged, in order, as the route does', async () => {
    const topics = ['app/order/a', 'app/order/b', 'app/order/c'];
    const seqs: number[] = [];
    for (const [index, topic] of topics.entries()) {
      const answer = await fetch(`${patchbay.origin}${index === 1 ? '/v1/events/' : '/v1/events'}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${publisherKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic, payload: { index } }),
      });
      assert.equal(answer.status, 201);
      seqs.push(((await answer.json()) as { data: { seq: number } }).data.seq);
    }
    assert.deepEqual(seqs, [seqs[0], seqs[0]! + 1, seqs[0]! + 2], 'gap-free numbers in the order acknowledged, whichever path took each');
    const stored = await patchbay.patchbay.ctx.store.db.selectFrom('events').select(['seq', 'topic']).where('seq', '>=', seqs[0]!).orderBy('seq').execute();
    assert.deepEqual(
      stored.map((row) => [Number(row.seq), row.topic]),
      topics.map((topic, index) => [seqs[0]! + index, topic]),
    );
  });
});
