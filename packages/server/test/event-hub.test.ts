import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventView } from '../src/events/log.js';
import { lastSeq, publishEvent, readEvents } from '../src/events/service.js';
import { isoNow } from '../src/store/time.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { waitFor } from './support/keys.js';

/**
 * The hub dispatches the events published on its instance as they commit, without reading them
 * back; these tests hold it to the log: every event once, in the log's order, as the log holds it.
 */
describe('the event hub: what an instance publishes reaches its streams as the log holds it', () => {
  let patchbay: TestPatchbay;
  let received: EventView[];
  let unsubscribe: () => void;

  before(async () => {
    patchbay = await startPatchbay();
    received = [];
    unsubscribe = patchbay.patchbay.ctx.events.subscribe((events) => received.push(...events));
  });

  after(async () => {
    unsubscribe();
    await patchbay.close();
  });

  const ctx = () => patchbay.patchbay.ctx;
  /** Publishes as the route does: append, then hand the committed event to this instance's hub. */
  const publish = async (payload: unknown) => {
    const event = await publishEvent(ctx(), { topic: 'hub/test', payload, publisher: 'test' });
    ctx().events.published(event);
    return event;
  };
  const seqs = (events: EventView[]) => events.map((event) => event.seq);
  /** Until `count` events came, then a moment more, so that one dispatched twice would show. */
  const arrived = async (count: number) => {
    await waitFor(`${count} events`, async () => (received.length >= count ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 50));
  };

  it('dispatches concurrent publishes once each, in sequence order, identical to the log read back', async () => {
    const start = await lastSeq(ctx());
    received.length = 0;
    const published = await Promise.all(Array.from({ length: 40 }, (_, i) => publish({ i, nested: { list: [i, -0, 'ü'] } })));
    await arrived(published.length);
    assert.deepEqual(
      seqs(received),
      Array.from({ length: published.length }, (_, i) => start + 1 + i),
      'every event once, in the log’s order',
    );
    const log = await readEvents(ctx(), { patterns: ['*'], after: start, limit: 500, anyTopic: true });
    assert.equal(JSON.stringify(received), JSON.stringify(log.data), 'as the log holds them');
  });

  it('reads the log when an event committed without being handed over (another instance) comes before one published here', async () => {
    const start = await lastSeq(ctx());
    received.length = 0;
    // Committed, but never reported to this hub: as when another instance appends to the same log.
    const elsewhere = await ctx().store.appendEvent({
      id: 'evt_elsewhere',
      topic: 'hub/test',
      payload: '{"from":"elsewhere"}',
      publisher: 'test',
      created_at: isoNow(),
    });
    const here = await publish({ from: 'here' });
    await arrived(2);
    assert.deepEqual(seqs(received), [elsewhere, here.seq], 'neither skipped nor repeated, in order');
    assert.equal(elsewhere, start + 1);
    assert.deepEqual(received[0]!.payload, { from: 'elsewhere' });
  });
});
