import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../src/crypto/random.js';
import { RETRY_SCHEDULE_MS } from '../src/webhooks/dispatcher.js';
import { emitWebhookEvent } from '../src/webhooks/emit.js';
import { secretAad } from '../src/webhooks/service.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { type Api, apiClient, assertError } from './support/keys.js';
import { type Receiver, startReceiver } from './support/webhook-receiver.js';

const NO_DECLARATIONS = { connectors: [], integrations: [] };

/** The dispatcher's clock: real time plus an offset the test moves forward, so a day of retries takes no waiting. */
class SteppedClock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  /** Moves to `iso` (plus a little): what was due by then is due now. */
  moveTo(iso: string): void {
    this.offset = Math.max(this.offset, Date.parse(iso) - Date.now() + 50);
  }
}

interface DeliveryView {
  id: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  updatedAt: string;
}

async function emit(patchbay: TestPatchbay, id: string, type: Parameters<typeof emitWebhookEvent>[1] = 'install.created') {
  await patchbay.patchbay.ctx.store.db.transaction().execute((trx) => emitWebhookEvent(trx, type, { id }));
}

async function createEndpoint(api: Api, key: string, url: string, events: string[] = ['install.created']): Promise<string> {
  const created = await api('/v1/webhooks', { method: 'POST', auth: key, body: { url, events } });
  assert.equal(created.status, 201, created.text);
  return (created.json as { id: string }).id;
}

async function deliveriesOf(api: Api, key: string, endpointId: string): Promise<DeliveryView[]> {
  return ((await api(`/v1/webhooks/${endpointId}/deliveries`, { auth: key })).json as { data: DeliveryView[] }).data;
}

describe('webhooks: retries, timeouts and disabling on a controllable clock', () => {
  const clock = new SteppedClock();
  let patchbay: TestPatchbay;
  let api: Api;
  let receiver: Receiver;
  let key: string;

  before(async () => {
    receiver = await startReceiver(clock);
    patchbay = await startPatchbay({ dev: true, declarations: NO_DECLARATIONS, clock, config: { webhookPollMs: 60_000, webhookTimeoutMs: 300 } });
    api = apiClient(patchbay);
    key = await patchbay.accessKey(['webhooks:write', 'webhooks:read', 'admin']);
  });

  after(async () => {
    await patchbay.close();
    await receiver.close();
  });

  /** Steps through the schedule: each round moves the clock to the next attempt and sends it. */
  async function followSchedule(endpointId: string, rounds: number): Promise<{ waits: number[]; last: DeliveryView }> {
    const waits: number[] = [];
    let [delivery] = await deliveriesOf(api, key, endpointId);
    for (let round = 0; round < rounds; round++) {
      assert.ok(delivery!.nextAttemptAt, `round ${round}: another attempt is scheduled`);
      const wait = Date.parse(delivery!.nextAttemptAt!) - Date.parse(delivery!.updatedAt);
      waits.push(wait);
      // Just before it is due, nothing goes out.
      clock.moveTo(new Date(Date.parse(delivery!.nextAttemptAt!) - 1000).toISOString());
      assert.equal(await patchbay.patchbay.webhooks.runOnce(), 0, `round ${round}: not sent before its time`);
      clock.moveTo(delivery!.nextAttemptAt!);
      assert.equal(await patchbay.patchbay.webhooks.runOnce(), 1, `round ${round}: sent once it is due`);
      [delivery] = await deliveriesOf(api, key, endpointId);
    }
    return { waits, last: delivery! };
  }

  it('retries after 500s with growing waits (about 5 s, 5 min, 30 min, 2 h …), then delivers', async () => {
    const endpointId = await createEndpoint(api, key, receiver.url);
    receiver.reply({ status: 500 }, { status: 500 }, { status: 503 }, { status: 500 });
    await emit(patchbay, 'ins_retry');
    await patchbay.patchbay.webhooks.runOnce();
    const { waits, last } = await followSchedule(endpointId, 4);
    for (const [index, wait] of waits.entries()) {
      const planned = RETRY_SCHEDULE_MS[index]!;
      assert.ok(wait >= planned * 0.89 && wait <= planned * 1.11, `wait ${index + 1} is ${wait} ms, planned ${planned} ± 10 %`);
      if (index > 0) assert.ok(wait > waits[index - 1]!, 'each wait is longer than the one before');
    }
    assert.deepEqual([last.status, last.attempts, last.lastStatusCode, last.nextAttemptAt], ['succeeded', 5, 200, null]);
    const received = receiver.received.filter((delivery) => delivery.body.includes('ins_retry'));
    assert.equal(received.length, 5, 'one request per attempt');
    assert.equal(new Set(received.map((delivery) => delivery.headers['webhook-id'])).size, 1, 'the same webhook-id on every attempt');
    await api(`/v1/webhooks/${endpointId}`, { method: 'DELETE', auth: key });
  });

  it('counts an endpoint that does not answer in time as a failure, retried on the same schedule, and gives up after it', async () => {
    const endpointId = await createEndpoint(api, key, receiver.url);
    receiver.reply(...Array.from({ length: RETRY_SCHEDULE_MS.length + 1 }, () => ({ hang: true as const })));
    await emit(patchbay, 'ins_timeout');
    await patchbay.patchbay.webhooks.runOnce();
    const [first] = await deliveriesOf(api, key, endpointId);
    assert.match(first!.lastError ?? '', /timeout/);
    assert.equal(first!.lastStatusCode, null);
    const { waits, last } = await followSchedule(endpointId, RETRY_SCHEDULE_MS.length);
    assert.ok(
      waits.every((wait, index) => index === 0 || wait >= waits[index - 1]! * 0.8),
      `the waits grow (${waits.map((wait) => Math.round(wait / 1000)).join(', ')} s)`,
    );
    const total = waits.reduce((sum, wait) => sum + wait, 0);
    assert.ok(total > 20 * 3_600_000 && total < 32 * 3_600_000, `the schedule spans about a day (${(total / 3_600_000).toFixed(1)} h)`);
    assert.deepEqual([last.status, last.attempts, last.nextAttemptAt], ['failed', RETRY_SCHEDULE_MS.length + 1, null]);
    assert.equal(await patchbay.patchbay.webhooks.runOnce(), 0, 'a failed delivery is not sent again on its own');
    await api(`/v1/webhooks/${endpointId}`, { method: 'DELETE', auth: key });
  });

  it('disables an endpoint failing for 5 days, with an audit entry and a webhook.disabled event to the other endpoints', async () => {
    // Nothing listens on port 1: every attempt fails, retries included. The watcher's receiver answers 200.
    const failing = await createEndpoint(api, key, 'http://127.0.0.1:1/failing');
    const watcher = await createEndpoint(api, key, receiver.url, ['webhook.disabled']);
    await emit(patchbay, 'ins_day0');
    await patchbay.patchbay.webhooks.runOnce();
    const endpoint = (await api(`/v1/webhooks/${failing}`, { auth: key })).json as { failingSince: string | null; enabled: boolean };
    assert.ok(endpoint.failingSince, 'the run of failures is dated');
    clock.offset += 4 * 86_400_000;
    await emit(patchbay, 'ins_day4');
    await patchbay.patchbay.webhooks.runOnce();
    assert.equal(((await api(`/v1/webhooks/${failing}`, { auth: key })).json as { enabled: boolean }).enabled, true, 'still enabled after 4 days');
    clock.offset += 1 * 86_400_000 + 60_000;
    await emit(patchbay, 'ins_day5');
    await patchbay.patchbay.webhooks.runOnce();
    const disabled = (await api(`/v1/webhooks/${failing}`, { auth: key })).json as { enabled: boolean; disabledReason: string };
    assert.deepEqual([disabled.enabled, disabled.disabledReason], [false, 'failing']);
    const audit = (await api(`/v1/audit?resourceId=${failing}&action=webhook.disabled`, { auth: key })).json as { data: Array<{ actor: string }> };
    assert.deepEqual(
      audit.data.map((entry) => entry.actor),
      ['system'],
    );
    const before = receiver.received.length;
    await patchbay.patchbay.webhooks.runOnce();
    const notices = receiver.received.slice(before).map((delivery) => JSON.parse(delivery.body) as { type: string; data: { id: string; enabled: boolean } });
    assert.deepEqual(
      notices.map((notice) => [notice.type, notice.data.id, notice.data.enabled]),
      [['webhook.disabled', failing, false]],
      'the other endpoint hears of it; the disabled one gets nothing more',
    );
    await api(`/v1/webhooks/${watcher}`, { method: 'DELETE', auth: key });
  });

  it('does not follow a redirect: the 3xx is a failed attempt and the redirect target gets nothing', async () => {
    const elsewhere = await startReceiver(clock);
    try {
      const endpointId = await createEndpoint(api, key, receiver.url);
      receiver.reply({ redirect: elsewhere.url });
      await emit(patchbay, 'ins_redirect');
      await patchbay.patchbay.webhooks.runOnce();
      const [delivery] = await deliveriesOf(api, key, endpointId);
      assert.deepEqual([delivery!.status, delivery!.lastStatusCode, delivery!.attempts], ['pending', 302, 1]);
      assert.equal(elsewhere.received.length, 0);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('webhooks: safe targets outside dev mode', () => {
  let patchbay: TestPatchbay;
  let api: Api;
  let key: string;

  before(async () => {
    patchbay = await startPatchbay({ declarations: NO_DECLARATIONS, config: { webhookPollMs: 60_000 } });
    api = apiClient(patchbay);
    key = await patchbay.accessKey(['webhooks:write', 'webhooks:read']);
  });
  after(() => patchbay.close());

  const REFUSED: Array<[url: string, why: RegExp]> = [
    ['http://hooks.example.com/in', /only https/],
    ['https://127.0.0.1/in', /loopback/],
    ['https://10.1.2.3/in', /private/],
    ['https://192.168.1.1/in', /private/],
    ['https://169.254.169.254/latest/meta-data', /linkLocal/],
    ['https://100.64.0.1/in', /carrierGradeNat/],
    ['https://[::1]/in', /loopback/],
    ['https://[fd00:ec2::254]/in', /uniqueLocal/],
    ['https://[::ffff:127.0.0.1]/in', /loopback/],
    ['https://0.0.0.0/in', /unspecified/],
    ['https://localhost/in', /localhost resolves to .*loopback/],
    ['https://user:pw@hooks.example.com/in', /user name or password/],
    ['not a url', /absolute URL/],
  ];

  for (const [url, why] of REFUSED) {
    it(`refuses ${url} with unsafe_webhook_url naming why`, async () => {
      const refused = assertError(
        await api('/v1/webhooks', { method: 'POST', auth: key, body: { url, events: ['install.created'] } }),
        400,
        'unsafe_webhook_url',
      );
      assert.match(refused.error.message, why);
    });
  }

  it('accepts a public https address, refuses an unsafe one on update, and writes nothing when it refuses', async () => {
    const id = await createEndpoint(api, key, 'https://93.184.215.14/in');
    assertError(await api(`/v1/webhooks/${id}`, { method: 'PATCH', auth: key, body: { url: 'https://10.0.0.1/in' } }), 400, 'unsafe_webhook_url');
    assert.equal(((await api(`/v1/webhooks/${id}`, { auth: key })).json as { url: string }).url, 'https://93.184.215.14/in');
    const count = await patchbay.patchbay.ctx.store.db
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 1, 'no refused endpoint was stored');
  });

  it('checks again when delivering: a name that now resolves to loopback (or a stored literal) is refused before any request', async () => {
    const receiver = await startReceiver();
    try {
      const { store, keyring } = patchbay.patchbay.ctx;
      const port = new URL(receiver.url).port;
      for (const url of [`https://localhost:${port}/hooks`, `https://127.0.0.1:${port}/hooks`]) {
        // As if the name resolved elsewhere when it was saved: the row is written as the API would have.
        const id = newId('whe');
        const now = new Date().toISOString();
        await store.db
          .insertInto('webhook_endpoints')
          .values({
            id,
            url,
            description: '',
            events: '["install.created"]',
            enabled: 1,
            disabled_reason: null,
            secret_ciphertext: keyring.encrypt(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, secretAad(id)),
            previous_secret_ciphertext: null,
            previous_secret_until: null,
            failing_since: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
        await emit(patchbay, `ins_rebound_${id}`);
        await patchbay.patchbay.webhooks.runOnce();
        const [delivery] = await deliveriesOf(api, key, id);
        assert.match(delivery!.lastError ?? '', /refused target/, url);
        assert.equal(delivery!.status, 'pending');
      }
      assert.equal(receiver.received.length, 0, 'nothing reached the loopback receiver');
    } finally {
      await receiver.close();
    }
  });
});

describe('webhooks: named exceptions', () => {
  it('accepts an internal host the operator lists in webhookAllowedHosts, still https only', async () => {
    const patchbay = await startPatchbay({ declarations: NO_DECLARATIONS, config: { webhookPollMs: 60_000, webhookAllowedHosts: ['localhost'] } });
    try {
      const api = apiClient(patchbay);
      const key = await patchbay.accessKey(['webhooks:write']);
      await createEndpoint(api, key, 'https://localhost:8443/in');
      assertError(
        await api('/v1/webhooks', { method: 'POST', auth: key, body: { url: 'http://localhost:8443/in', events: ['install.created'] } }),
        400,
        'unsafe_webhook_url',
      );
      assertError(
        await api('/v1/webhooks', { method: 'POST', auth: key, body: { url: 'https://127.0.0.1/in', events: ['install.created'] } }),
        400,
        'unsafe_webhook_url',
      );
    } finally {
      await patchbay.close();
    }
  });
});
