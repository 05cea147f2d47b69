import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { startPatchbay, TEST_POSTGRES_URL, type TestPatchbay } from './support/harness.js';
import { apiClient, assertError, waitFor } from './support/keys.js';

/** A TCP relay in front of PostgreSQL that a test can cut (every connection dropped, new ones refused) and restore. */
async function startCuttableRelay(target: URL): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayed = new URL(target);
  relayed.hostname = '127.0.0.1';
  relayed.port = String((server.address() as AddressInfo).port);
  return {
    url: relayed.toString(),
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('/readyz: ready only while the store answers and holds every migration', () => {
  const started: TestPatchbay[] = [];
  const relays: Array<Awaited<ReturnType<typeof startCuttableRelay>>> = [];
  after(async () => {
    for (const patchbay of started) await patchbay.close().catch(() => undefined);
    // Relays close last: closing a server drops its schema through them.
    for (const relay of relays) {
      relay.cut();
      await relay.close();
    }
  });

  it('/healthz answers the same from its fast lane (the plain path) and from the router (/healthz/, /HEALTHZ), GET and HEAD, and is counted', async () => {
    const patchbay = await startPatchbay();
    started.push(patchbay);
    const answerOf = async (path: string, method: string) => {
      const answer = await fetch(`${patchbay.origin}${path}`, { method });
      const headers = ['content-type', 'content-length', 'cache-control'].map((name) => `${name}: ${answer.headers.get(name)}`);
      return { status: answer.status, headers, body: await answer.text() };
    };
    for (const method of ['GET', 'HEAD']) {
      const lane = await answerOf('/healthz?probe=1', method);
      assert.deepEqual(lane, await answerOf('/healthz/', method), `${method}: the same through the router`);
      assert.deepEqual(lane, await answerOf('/HEALTHZ', method), `${method}: the same in other letter cases`);
      assert.equal(lane.body, method === 'GET' ? '{"ok":true}' : '');
    }
    const metrics = await patchbay.patchbay.ctx.metrics.registry.getSingleMetricAsString('patchbay_http_requests_total');
    assert.match(metrics, /route="\/healthz",method="GET",status="200"} 3/, 'every call counted under /healthz');
  });

  it('answers 200 when ready, and 503 migrations_pending while a migration this code needs is not applied', async () => {
    const patchbay = await startPatchbay();
    started.push(patchbay);
    const call = apiClient(patchbay);
    assert.equal((await call('/readyz')).status, 200);
    const { db } = patchbay.patchbay.ctx.store;
    // As if the database were older than the code (a deploy before `patchbay migrate`).
    const newest = await db
      .selectFrom('kysely_migration' as never)
      .selectAll()
      .orderBy('name' as never, 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    await db
      .deleteFrom('kysely_migration' as never)
      .where('name' as never, '=', (newest as { name: string }).name as never)
      .execute();
    const answer = assertError(await call('/readyz'), 503, 'migrations_pending');
    assert.match(answer.error.message, /1 migration/);
    await db
      .insertInto('kysely_migration' as never)
      .values(newest as never)
      .execute();
    assert.equal((await call('/readyz')).status, 200, 'ready again once migrated');
  });

  it('answers 503 store_unavailable once the store cannot be reached', async () => {
    const patchbay = await startPatchbay();
    const call = apiClient(patchbay);
    assert.equal((await call('/readyz')).status, 200);
    await patchbay.patchbay.ctx.store.close();
    assertError(await call('/readyz'), 503, 'store_unavailable');
    assert.equal((await call('/healthz')).status, 200, 'alive all the same: the process is fine, its database is not');
    await patchbay.close().catch(() => undefined);
  });

  // PostgreSQL only: registered in the run of the suite on PostgreSQL.
  if (TEST_POSTGRES_URL)
    it('PostgreSQL: answers 503 within seconds while the database is cut off, and 200 again when it returns', async () => {
      const relay = await startCuttableRelay(new URL(TEST_POSTGRES_URL!));
      relays.push(relay);
      try {
        const patchbay = await startPatchbay({ config: { databaseUrl: relay.url } });
        started.push(patchbay);
        const call = apiClient(patchbay);
        assert.equal((await call('/readyz')).status, 200);
        relay.cut();
        const started503 = Date.now();
        assertError(await call('/readyz'), 503, 'store_unavailable');
        assert.ok(Date.now() - started503 < 5000, 'a bounded answer, not a hang');
        relay.restore();
        await waitFor('ready again', async () => ((await call('/readyz')).status === 200 ? true : undefined), 20_000, 200);
      } finally {
        relay.restore();
      }
    });
});
