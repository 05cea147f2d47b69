import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger, createPatchbay } from '../src/index.js';
import { createAccessKey } from '../src/keys/service.js';
import { closeServer, dropTestSchema, listenOnLoopback, startPatchbay, TEST_POSTGRES_URL, testConfig, type TestPatchbay } from './support/harness.js';
import { partnerClient } from './support/partners.js';
import { openStream } from './support/sse.js';

describe('event streams over time (one-second heartbeat)', () => {
  let patchbay: TestPatchbay;
  let client: ReturnType<typeof partnerClient>;

  before(async () => {
    patchbay = await startPatchbay({ config: { eventHeartbeatSeconds: 1 } });
    client = partnerClient(patchbay, await patchbay.accessKey(['partners:write']));
  });

  after(() => patchbay.close());

  const streamOf = (key: string, topics: string) => openStream(`${patchbay.origin}/v1/events/stream?topics=${topics}`, { authorization: `Bearer ${key}` });

  it('writes a keep-alive comment every heartbeat while the stream is idle', async () => {
    const stream = await streamOf(await patchbay.accessKey(['events:consume']), 'idle/*');
    await new Promise((resolve) => setTimeout(resolve, 2300));
    await stream.close();
    assert.ok(stream.comments.filter((comment) => comment === 'keep-alive').length >= 2, stream.comments.join(','));
    assert.deepEqual(stream.events, []);
  });

  it('ends an open partner stream within a heartbeat of the partner’s suspension; reconnecting then fails with partner_suspended', async () => {
    const { key, partnerId } = await client.onboard([{ pattern: 'suspend/*', receive: true }]);
    const stream = await streamOf(key, 'suspend/*');
    assert.equal(stream.response.status, 200);
    assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`)).status, 200);
    assert.equal(await stream.waitForEnd(2500), 'server');
    assert.ok(stream.comments.includes('access ended'));
    const again = await fetch(`${patchbay.origin}/v1/events/stream?topics=suspend/*`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(again.status, 403);
    assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'partner_suspended');
  });

  it('ends an open partner stream within a heartbeat of the grant it reads under being revoked', async () => {
    const { key, partnerId } = await client.onboard([]);
    const grant = await client.grant(partnerId, 'revoke/*', { receive: true });
    const stream = await streamOf(key, 'revoke/*');
    assert.equal(stream.response.status, 200);
    assert.equal((await client.asOperator('DELETE', `/v1/partners/${partnerId}/grants/${grant.id}`)).status, 204);
    assert.equal(await stream.waitForEnd(2500), 'server');
  });

  it('ends open streams, and any opened during shutdown, cleanly, so the HTTP server can finish closing', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-test-'));
    const { server, origin } = await listenOnLoopback();
    const config = testConfig({ publicUrl: origin, dataDir });
    const instance = await createPatchbay(config, { logger: createLogger('silent') });
    server.on('request', instance.app);
    try {
      const { key } = await createAccessKey(instance.ctx, { name: 'consumer', scopes: ['events:consume'], tenantId: null });
      const stream = await openStream(`${origin}/v1/events/stream?topics=shutdown/*`, { authorization: `Bearer ${key}` });
      assert.equal(stream.response.status, 200);
      // What the runtime does on SIGTERM: end the streams, then stop accepting and wait for requests.
      await instance.ctx.events.close();
      assert.equal(await stream.waitForEnd(1000), 'server');
      const late = await openStream(`${origin}/v1/events/stream?topics=shutdown/*`, { authorization: `Bearer ${key}` });
      assert.equal(await late.waitForEnd(1000), 'server', 'a stream opened during shutdown ends too');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Unref'd: once the server has closed, the losing timer must not hold the test process for 2 s.
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the server did not close')), 2000).unref())]);
    } finally {
      server.closeAllConnections();
      await instance.close();
      await dropTestSchema(config);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

// PostgreSQL only: registered in the run of the suite on PostgreSQL.
/**
 * Runs `use` with instance A (a test server) and the origin of instance B: the same database and
 * schema, its own process state (hub, caches, listener). Both are closed afterwards.
 */
async function withTwoInstances(use: (a: TestPatchbay, b: string) => Promise<void>): Promise<void> {
  const a = await startPatchbay();
  const b = await listenOnLoopback();
  const patchbayB = await createPatchbay({ ...a.config, publicUrl: b.origin }, { logger: createLogger('silent') });
  b.server.on('request', patchbayB.app);
  try {
    await use(a, b.origin);
  } finally {
    await closeServer(b.server);
    await patchbayB.close();
    await a.close();
  }
}

if (TEST_POSTGRES_URL)
  describe('events across two instances on one PostgreSQL', () => {
    it('delivers an event published on instance A to a stream on instance B within a second', async () => {
      await withTwoInstances(async (a, b) => {
        const publisher = await a.accessKey(['events:publish', 'events:consume']);
        const stream = await openStream(`${b}/v1/events/stream?topics=cross/instance/*`, { authorization: `Bearer ${publisher}` });
        await new Promise((resolve) => setTimeout(resolve, 200));
        const sentAt = Date.now();
        const published = await fetch(`${a.origin}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
          body: JSON.stringify({ topic: 'cross/instance/hello', payload: { from: 'A' } }),
        });
        assert.equal(published.status, 201);
        await stream.waitFor(1, 1000);
        assert.ok(Date.now() - sentAt < 1000);
        assert.deepEqual(stream.events[0]!.data.payload, { from: 'A' });
        await stream.close();
      });
    });

    it('numbers the log without a gap or a duplicate while both instances publish at once, each event under the number its publisher was told', async () => {
      await withTwoInstances(async (a, b) => {
        const publisher = await a.accessKey(['events:publish']);
        const publishOn = async (origin: string, i: number) => {
          const answer = await fetch(`${origin}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
            body: JSON.stringify({ topic: 'race/published', payload: { i } }),
          });
          assert.equal(answer.status, 201);
          return ((await answer.json()) as { data: { id: string; seq: number } }).data;
        };
        // 16 publishers per instance, 8 events each: batches of both instances contend for the append lock.
        const answered = (
          await Promise.all(
            Array.from({ length: 32 }, async (_, publisherIndex) => {
              const origin = publisherIndex % 2 === 0 ? a.origin : b;
              const mine = [];
              for (let i = 0; i < 8; i++) mine.push(await publishOn(origin, publisherIndex * 8 + i));
              return mine;
            }),
          )
        ).flat();
        const seqs = answered.map((event) => event.seq).sort((x, y) => x - y);
        assert.equal(new Set(seqs).size, 256, 'no number given twice');
        assert.deepEqual(
          seqs,
          Array.from({ length: 256 }, (_, index) => seqs[0]! + index),
          'no gap between the numbers given',
        );
        const stored = await a.patchbay.ctx.store.db.selectFrom('events').select(['seq', 'id']).where('topic', '=', 'race/published').execute();
        assert.deepEqual(
          new Map(stored.map((row) => [row.id, Number(row.seq)])),
          new Map(answered.map((event) => [event.id, event.seq])),
          'each event is stored under the number its publisher was told',
        );
      });
    });
  });
