import assert from 'node:assert/strict';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { oldestSeq, pruneEvents } from '../src/events/retention.js';
import { publishEvent } from '../src/events/service.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { apiClient, assertError, type Api, waitFor } from './support/keys.js';

const BUFFER_BOUND = 16_384;

describe('a bounded event log: retention by age and count, expired cursors, slow stream readers', () => {
  let patchbay: TestPatchbay;
  let call: Api;
  let key: string;

  before(async () => {
    patchbay = await startPatchbay({ config: { eventStreamBufferBytes: BUFFER_BOUND } });
    call = apiClient(patchbay);
    key = await patchbay.accessKey(['events:publish', 'events:consume']);
  });

  after(async () => {
    await patchbay.close();
  });

  const store = () => patchbay.patchbay.ctx.store;
  /** Publishes as the route does: append, then hand the committed event to this instance's streams. */
  const publish = async (n: number, payload: unknown = { n }) => {
    const published = await publishEvent(patchbay.patchbay.ctx, { topic: 'app/log', payload, publisher: 'test' });
    patchbay.patchbay.ctx.events.published(published);
    return published;
  };
  const seqs = async () => (await store().db.selectFrom('events').select('seq').orderBy('seq').execute()).map((row) => Number(row.seq));
  const age = (upTo: number, days: number) =>
    store()
      .db.updateTable('events')
      .set({ created_at: new Date(Date.now() - days * 86_400_000).toISOString() })
      .where('seq', '<=', upTo)
      .execute();

  it('deletes only events older than the age limit, then only those beyond the count, in batches, keeping the newest always', async () => {
    for (let n = 1; n <= 10; n++) await publish(n);
    await age(4, 31);
    assert.equal(await pruneEvents(store(), { maxAgeDays: 30, maxCount: 1_000_000, batch: 3 }), 4);
    assert.deepEqual(await seqs(), [5, 6, 7, 8, 9, 10], 'exactly the old ones');
    assert.equal(await pruneEvents(store(), { maxAgeDays: 30, maxCount: 3, batch: 2 }), 3);
    assert.deepEqual(await seqs(), [8, 9, 10], 'the newest three');
    await age(10, 365);
    await pruneEvents(store(), { maxAgeDays: 30, maxCount: 1_000_000 });
    assert.deepEqual(await seqs(), [10], 'the newest stays, however old: the numbering continues from it');
    assert.equal((await publish(11)).seq, 11);
  });

  it('keeps publishing while a large prune runs: every publish succeeds, numbers stay gap-free', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      seq: 1000 + i,
      id: `evt_bulk${i}`,
      topic: 'app/bulk',
      payload: '{}',
      publisher: 'test',
      created_at: new Date(Date.now() - 400 * 86_400_000).toISOString(),
    }));
    for (let start = 0; start < rows.length; start += 500)
      await store()
        .db.insertInto('events')
        .values(rows.slice(start, start + 500))
        .execute();
    // The bulk rows sit after 11: the log is now 10, 11, 1000…3999, all old, so all but the newest go.
    const pruning = pruneEvents(store(), { maxAgeDays: 30, maxCount: 1_000_000, batch: 200 });
    const published: number[] = [];
    for (let n = 0; n < 20; n++) published.push((await publish(n)).seq);
    await pruning;
    assert.deepEqual(
      published,
      Array.from({ length: 20 }, (_, i) => 4000 + i),
      'every publish got the next number',
    );
    assert.ok((await oldestSeq(store())) >= 3999, 'the old ones are gone');
    assert.deepEqual((await seqs()).slice(-20), published, 'and the new ones are all there');
  });

  it('answers a cursor older than the log with 410 cursor_expired naming the oldest kept, on polls and streams', async () => {
    const oldest = await oldestSeq(store());
    assert.ok(oldest > 2);
    const expired = assertError(await call(`/v1/events?topics=app/*&after=${oldest - 2}`, { auth: key }), 410, 'cursor_expired');
    assert.match(expired.error.message, new RegExp(`oldest kept is ${oldest}`));
    assert.match(expired.error.message, new RegExp(`after=${oldest - 1}`));
    const kept = await call(`/v1/events?topics=app/*&after=${oldest - 1}`, { auth: key });
    assert.equal(kept.status, 200, 'the cursor just before the oldest still reads everything kept');
    assert.equal((kept.json as { data: Array<{ seq: number }> }).data[0]?.seq, oldest);
    const fromStart = await call('/v1/events?topics=app/*', { auth: key });
    assert.equal((fromStart.json as { data: Array<{ seq: number }> }).data[0]?.seq, oldest, 'without a cursor, from the oldest kept');
    assertError(await call('/v1/events/stream?topics=app/*', { auth: key, headers: { 'last-event-id': '1' } }), 410, 'cursor_expired');
  });

  it('ends a stream whose reader falls behind the live events with a resume event, and the reader resumes without a gap or a repeat', async () => {
    const ended = () => patchbay.patchbay.ctx.metrics.slowReadersEnded.get().then((metric) => metric.values[0]?.value ?? 0);
    const endedBefore = await ended();

    // A reader that reads nothing: its answer is paused as soon as the headers are in.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = httpRequest(`${patchbay.origin}/v1/events/stream?topics=app/log`, { agent: false, headers: { authorization: `Bearer ${key}` } });
      outgoing.on('response', (answer) => {
        answer.pause();
        resolve(answer);
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
    assert.equal(response.statusCode, 200);
    // Live events, faster than the reader takes them: loopback buffers absorb a few MB, then the server's bound is reached.
    const big = 'x'.repeat(60_000);
    const first = (await publish(0, { n: 0, big })).seq;
    let last = first;
    for (let n = 1; n < 400 && (await ended()) === endedBefore; n++) last = (await publish(n, { n, big })).seq;
    await waitFor('the server to end the slow stream', async () => ((await ended()) > endedBefore ? true : undefined), 30_000, 50);
    for (let n = 0; n < 5; n++) last = (await publish(1000 + n)).seq;

    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve) => {
      response.on('end', resolve);
      response.resume();
    });
    const text = Buffer.concat(chunks).toString('utf8');
    // The events' ids (the resume event repeats the cursor as its own id, for Last-Event-ID).
    const ids = [...text.matchAll(/^id: (\d+)\nevent: app\//gm)].map((match) => Number(match[1]));
    assert.ok(ids.length > 0 && ids.at(-1)! < last, `the stream ended early (${ids.length} events)`);
    assert.deepEqual(
      ids,
      Array.from({ length: ids.length }, (_, i) => first + i),
      'in order, no gap',
    );
    const resume = /id: \d+\nevent: patchbay\.resume\ndata: (.+)\n\n/.exec(text);
    assert.ok(resume, 'a final resume event');
    assert.deepEqual(JSON.parse(resume[1]!), { reason: 'slow_reader', after: ids.at(-1) });

    // The reader reconnects from the resume cursor and gets exactly the rest.
    const controller = new AbortController();
    const again = await fetch(`${patchbay.origin}/v1/events/stream?topics=app/log`, {
      headers: { authorization: `Bearer ${key}`, 'last-event-id': String(ids.at(-1)) },
      signal: controller.signal,
    });
    const reader = again.body!.getReader();
    let rest = '';
    while (!rest.includes(`id: ${last}\n`)) rest += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const restIds = [...rest.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
    assert.deepEqual(
      restIds,
      Array.from({ length: last - ids.at(-1)! }, (_, i) => ids.at(-1)! + 1 + i),
      'the rest, none twice',
    );
  });
});
