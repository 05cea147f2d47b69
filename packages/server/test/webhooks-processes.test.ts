import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { emitWebhookEvent } from '../src/webhooks/emit.js';
import { waitFor } from './support/keys.js';
import { type ServerProcess, sharedDatabase, type SharedDatabase, startServerProcess, STORE_LABEL, STORE_UNDER_TEST } from './support/processes.js';
import { type Receiver, startReceiver, verify } from './support/webhook-receiver.js';

const MESSAGES = 150;

/** Real `patchbay start` processes in dev mode (the receiver is http on loopback), no connectors. */
function serverEnv(database: SharedDatabase, extra: Record<string, string>): Record<string, string> {
  const configFile = path.join(database.dataDir, 'patchbay.config.json');
  writeFileSync(configFile, JSON.stringify({ connectors: [], integrations: [] }));
  return { ...database.env, PATCHBAY_CONFIG: configFile, PATCHBAY_DEV: '1', ...extra };
}

async function createEndpoint(server: ServerProcess, key: string, url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const created = await fetch(`${server.origin}/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, events }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  return (await created.json()) as { id: string; secret: string };
}

function processes(kind: 'sqlite' | 'postgres') {
  let database: SharedDatabase;
  let receiver: Receiver;
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await receiver?.close();
    await database?.drop();
  });

  it('two instances on one database send each message once per attempt', async () => {
    database = sharedDatabase(kind);
    receiver = await startReceiver();
    const env = serverEnv(database, { PATCHBAY_WEBHOOK_POLL_MS: '20' });
    const [first, second] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
    servers.push(first!, second!);
    const { key } = await database.accessKey('operator', ['webhooks:write', 'webhooks:read']);
    const endpoint = await createEndpoint(first!, key, receiver.url, ['install.created']);
    // Some attempts fail, so retries race as well as first attempts.
    receiver.reply(...Array.from({ length: 20 }, () => ({ status: 500 })));
    const store = await database.open();
    for (let index = 0; index < MESSAGES; index += 10) {
      await store.db.transaction().execute(async (trx) => {
        for (let n = index; n < index + 10; n++) await emitWebhookEvent(trx, 'install.created', { id: `ins_${n}` });
      });
    }
    const rows = await waitFor(
      `all ${MESSAGES} deliveries to succeed`,
      async () => {
        const all = await store.db.selectFrom('webhook_deliveries').selectAll().execute();
        return all.length === MESSAGES && all.every((row) => row.status === 'succeeded') ? all : undefined;
      },
      60_000,
      100,
    );
    const requests = new Map<string, number>();
    for (const delivery of receiver.received) {
      verify(endpoint.secret, delivery);
      const id = String(delivery.headers['webhook-id']);
      requests.set(id, (requests.get(id) ?? 0) + 1);
    }
    for (const row of rows) {
      assert.equal(requests.get(row.event_id), row.attempts, `message ${row.event_id}: one request per recorded attempt`);
    }
    assert.equal(receiver.received.length, MESSAGES + 20, 'every 500 was retried once, nothing else was sent twice');
  });

  it('a change committed just before kill -9 is delivered after the restart; so is one cut off mid-send', async () => {
    const env = serverEnv(database, { PATCHBAY_WEBHOOK_POLL_MS: '60000', PATCHBAY_WEBHOOK_TIMEOUT_MS: '1000' });
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    const doomed = await startServerProcess({ env });
    const { key: admin } = await database.accessKey('admin', ['admin']);
    const { id: victimId } = await database.accessKey('victim', ['installs:read']);
    const endpoint = await createEndpoint(doomed, admin, receiver.url, ['key.inactivated']);
    const before = receiver.received.length;
    // The dispatcher's first round ran at start; the next is a minute away: the change waits in the outbox.
    const inactivated = await fetch(`${doomed.origin}/v1/keys/${victimId}/inactivate`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(inactivated.status, 200);
    doomed.child.kill('SIGKILL');
    assert.equal((await doomed.exited).signal, 'SIGKILL');
    assert.equal(receiver.received.length, before, 'nothing was sent before the kill');

    // The next instance sends it; its receiver hangs on the first request, and that instance is killed mid-send.
    receiver.reply({ hang: true });
    const cut = await startServerProcess({ env: { ...env, PATCHBAY_WEBHOOK_POLL_MS: '50' } });
    await waitFor('the attempt to reach the receiver', async () => (receiver.received.length > before ? true : undefined), 20_000);
    cut.child.kill('SIGKILL');
    await cut.exited;

    const restarted = await startServerProcess({ env: { ...env, PATCHBAY_WEBHOOK_POLL_MS: '50' } });
    servers.push(restarted);
    // Its lease (the 1 s timeout + 5 s) runs out, and the delivery is sent again.
    const delivered = await waitFor(
      'the delivery after the restart',
      async () => (receiver.received.length >= before + 2 ? receiver.received.at(-1) : undefined),
      30_000,
    );
    const payload = verify(endpoint.secret, delivered);
    assert.deepEqual([payload.type, payload.data.id, payload.data.active], ['key.inactivated', victimId, false]);
    assert.equal(receiver.received[before]!.headers['webhook-id'], delivered.headers['webhook-id'], 'the same message, sent again');
  });
}

describe(`webhooks across processes (${STORE_LABEL})`, () => {
  processes(STORE_UNDER_TEST);
});
