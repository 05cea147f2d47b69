import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Declarations } from '../src/index.js';
import { replaceCredentials } from '../src/connections/service.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations, FLOW_HOST_ORIGIN, installEchoForTenant } from './support/install-flow.js';
import { type Api, apiClient, assertError, SecretWatch } from './support/keys.js';
import { partnerClient } from './support/partners.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';
import { type Receiver, startReceiver, verify } from './support/webhook-receiver.js';

/** The echo integration, plus one OAuth connector whose provider never answers: a callback with an error fails its session. */
function declarationsWithOAuth(api: StandInApi): Declarations {
  const base = echoDeclarations(api);
  return {
    connectors: [
      ...base.connectors,
      {
        slug: 'oauth-crm',
        name: 'OAuth CRM',
        description: '',
        baseUrl: `${api.origin}/crm`,
        visibility: 'shared',
        authMethods: [
          {
            type: 'oauth2',
            authorizationUrl: `${api.origin}/authorize`,
            tokenUrl: `${api.origin}/token`,
            clientId: 'crm',
            clientSecret: 'crm-secret-0123456789',
            scopes: [],
          },
        ],
        actions: {},
      },
    ],
    integrations: [
      ...base.integrations,
      { id: 'crm-sync', name: 'CRM sync', description: '', connectors: ['oauth-crm'], allowedOrigins: [FLOW_HOST_ORIGIN], configFields: [], actions: {} },
    ],
  } as unknown as Declarations;
}

interface Created {
  id: string;
  secret: string;
  events: string[];
}

describe('webhooks: endpoints, signed lifecycle events, rotation, delivery log', () => {
  let patchbay: TestPatchbay;
  let api: Api;
  let standIn: StandInApi;
  let receiver: Receiver;
  const watch = new SecretWatch();
  let writer: string;
  let reader: string;
  let host: string;
  let admin: string;
  let endpoint: Created;

  before(async () => {
    standIn = await startStandInApi();
    receiver = await startReceiver();
    // Dev mode: the receiver is plain http on loopback. A long poll: each test steps the dispatcher itself.
    patchbay = await startPatchbay({ dev: true, declarations: declarationsWithOAuth(standIn), config: { webhookPollMs: 60_000 } });
    api = apiClient(patchbay, watch);
    watch.watchLogs(patchbay.logs, 'the server');
    writer = await patchbay.accessKey(['webhooks:write', 'webhooks:read']);
    reader = await patchbay.accessKey(['webhooks:read']);
    host = await patchbay.accessKey(['sessions:write', 'installs:read', 'installs:write', 'connectors:read']);
    admin = await patchbay.accessKey(['admin']);
    for (const [key, label] of [
      [writer, 'writer'],
      [reader, 'reader'],
      [admin, 'admin'],
    ] as const)
      watch.addKey(key, label);
  });

  after(async () => {
    await patchbay.close();
    await receiver.close();
    await standIn.close();
  });

  /** Steps the dispatcher, and answers what the receiver got from it. */
  async function deliver(): Promise<Receiver['received']> {
    const before = receiver.received.length;
    await patchbay.patchbay.webhooks.runOnce();
    return receiver.received.slice(before);
  }

  it('answers a whsec_ secret once on create (Standard Webhooks form, ≥ 24 random bytes), stored encrypted', async () => {
    const created = await api('/v1/webhooks', {
      method: 'POST',
      auth: writer,
      body: {
        url: receiver.url,
        events: [
          'connection.created',
          'install.created',
          'install.deleted',
          'connection.revoked',
          'connection.reauthorized',
          'session.failed',
          'partner.onboarded',
          'partner.suspended',
          'key.inactivated',
        ],
        description: 'all of it',
      },
    });
    assert.equal(created.status, 201, created.text);
    endpoint = created.json as Created;
    watch.handedOut(created, endpoint.secret, 'the endpoint secret');
    assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.ok(Buffer.from(endpoint.secret.slice(6), 'base64').length >= 24, 'the key is at least 24 bytes');
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const row = await patchbay.patchbay.ctx.store.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', endpoint.id).executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row).includes(endpoint.secret.slice(6)), 'the stored row holds a ciphertext, not the secret');
    const shown = await api(`/v1/webhooks/${endpoint.id}`, { auth: reader });
    assert.equal(shown.status, 200);
    assert.equal((shown.json as { secret?: string }).secret, undefined, 'GET never shows the secret');
    const listed = await api('/v1/webhooks?limit=1', { auth: reader });
    assert.deepEqual(
      (listed.json as { data: Array<{ id: string }> }).data.map((item) => item.id),
      [endpoint.id],
    );
  });

  it('enforces webhooks:read and webhooks:write', async () => {
    assertError(
      await api('/v1/webhooks', { method: 'POST', auth: reader, body: { url: receiver.url, events: ['install.created'] } }),
      403,
      'insufficient_scope',
    );
    assertError(await api(`/v1/webhooks/${endpoint.id}/rotate-secret`, { method: 'POST', auth: reader }), 403, 'insufficient_scope');
    assertError(await api(`/v1/webhooks/${endpoint.id}`, { method: 'DELETE', auth: host }), 403, 'insufficient_scope');
    assertError(await api('/v1/webhooks', { auth: host }), 403, 'insufficient_scope');
    assertError(await api('/v1/webhooks', { method: 'POST', auth: writer, body: { url: receiver.url, events: ['no.such'] } }), 400, 'invalid_request');
    assertError(await api('/v1/webhooks/whe_nope', { auth: reader }), 404, 'webhook_not_found');
  });

  it('delivers each lifecycle change, signed and verifiable with standardwebhooks, carrying the resource as its GET shows it', async () => {
    const { installId } = await installEchoForTenant(patchbay.origin, host, 'tenant-hooks');
    let got = await deliver();
    const payloads = got.map((delivery) => verify(endpoint.secret, delivery));
    assert.deepEqual(payloads.map((payload) => payload.type).sort(), ['connection.created', 'install.created']);
    const connection = payloads.find((payload) => payload.type === 'connection.created')!.data as { id: string; tenantId: string };
    assert.equal(connection.tenantId, 'tenant-hooks');
    const install = payloads.find((payload) => payload.type === 'install.created')!.data as { id: string; connectionIds: string[] };
    assert.equal(install.id, installId);
    assert.deepEqual(install.connectionIds, [connection.id]);
    for (const payload of payloads) assert.ok(!JSON.stringify(payload).includes(STAND_IN.bearer), `${payload.type} carries no credential`);
    for (const delivery of got) assert.equal(delivery.headers['content-type'], 'application/json');

    await replaceCredentials(patchbay.patchbay.ctx, connection.id, 'tenant-hooks', { type: 'bearer', token: STAND_IN.bearer });
    got = await deliver();
    const reauthorized = verify(endpoint.secret, got[0]!);
    assert.equal(reauthorized.type, 'connection.reauthorized');
    assert.deepEqual(reauthorized.data, (await api(`/v1/connections/${connection.id}`, { auth: admin })).json, 'the connection as GET shows it');

    assert.equal((await api(`/v1/integrations/echo-sync/install/${installId}`, { method: 'DELETE', auth: host })).status, 204);
    got = await deliver();
    assert.deepEqual([verify(endpoint.secret, got[0]!).type, verify(endpoint.secret, got[0]!).data.id], ['install.deleted', installId]);

    assert.equal((await api(`/v1/connections/${connection.id}`, { method: 'DELETE', auth: admin })).status, 200);
    got = await deliver();
    const revoked = verify(endpoint.secret, got[0]!);
    assert.equal(revoked.type, 'connection.revoked');
    assert.deepEqual(revoked.data, (await api(`/v1/connections/${connection.id}`, { auth: admin })).json);

    const doomed = await patchbay.accessKey(['installs:read'], { name: 'doomed' });
    const doomedId = (await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').where('name', '=', 'doomed').executeTakeFirstOrThrow()).id;
    watch.addKey(doomed, 'doomed');
    assert.equal((await api(`/v1/keys/${doomedId}/inactivate`, { method: 'POST', auth: admin })).status, 200);
    got = await deliver();
    const inactivated = verify(endpoint.secret, got[0]!);
    assert.equal(inactivated.type, 'key.inactivated');
    assert.deepEqual(inactivated.data, (await api(`/v1/keys/${doomedId}`, { auth: admin })).json);

    const partners = partnerClient(patchbay, admin);
    const partner = await partners.createPartner({ appName: 'Hookfast' });
    assert.equal((await partners.portal().call('POST', '/redeem', { code: partner.code })).status, 200);
    assert.equal((await partners.asOperator('POST', `/v1/partners/${partner.id}/suspend`)).status, 200);
    got = await deliver();
    const partnerEvents = got.map((delivery) => verify(endpoint.secret, delivery));
    assert.deepEqual(partnerEvents.map((payload) => [payload.type, payload.data.id, payload.data.status]).sort(), [
      ['partner.onboarded', partner.id, 'active'],
      ['partner.suspended', partner.id, 'suspended'],
    ]);

    const session = await api('/v1/integrations/crm-sync/session', { method: 'POST', auth: host, body: { tenantId: 'tenant-hooks', connector: 'oauth-crm' } });
    const { id: sessionId } = session.json as { id: string };
    const start = await fetch(
      `${patchbay.origin}/v1/integrations/crm-sync/session/${sessionId}/start?mode=popup&origin=${encodeURIComponent(FLOW_HOST_ORIGIN)}`,
      {
        redirect: 'manual',
      },
    );
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    await (await fetch(`${patchbay.origin}/oauth/callback?state=${encodeURIComponent(state)}&error=server_error`)).text();
    got = await deliver();
    const failed = verify(endpoint.secret, got[0]!);
    assert.deepEqual([failed.type, failed.data.id, failed.data.status], ['session.failed', sessionId, 'failed']);
    assert.deepEqual((failed.data.error as { code: string }).code, 'provider_error');
  });

  it('refuses a tampered delivery: another body, another id or another secret does not verify', async () => {
    await patchbay.patchbay.ctx.store.db.transaction().execute(async (trx) => {
      const { emitWebhookEvent } = await import('../src/webhooks/emit.js');
      await emitWebhookEvent(trx, 'install.created', { id: 'ins_tamper' });
    });
    const [delivery] = await deliver();
    assert.ok(delivery);
    assert.equal(verify(endpoint.secret, delivery).data.id, 'ins_tamper');
    assert.throws(() => verify(endpoint.secret, { ...delivery, body: delivery.body.replace('ins_tamper', 'ins_tampered') }), /signature/i);
    assert.throws(() => verify(endpoint.secret, { ...delivery, headers: { ...delivery.headers, 'webhook-id': 'msg_other' } }), /signature/i);
    assert.throws(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, delivery), /signature/i);
  });

  it('signs with both secrets during the rotation grace, with only the new one after it', async () => {
    const rotated = await api(`/v1/webhooks/${endpoint.id}/rotate-secret`, { method: 'POST', auth: writer });
    assert.equal(rotated.status, 201);
    const fresh = (rotated.json as Created & { previousSecretUntil: string }).secret;
    watch.handedOut(rotated, fresh, 'the rotated secret');
    assert.notEqual(fresh, endpoint.secret);
    assert.ok(Date.parse((rotated.json as { previousSecretUntil: string }).previousSecretUntil) > Date.now() + 23 * 3_600_000, 'a 24 h grace by default');
    const emit = async (id: string) =>
      patchbay.patchbay.ctx.store.db.transaction().execute(async (trx) => {
        const { emitWebhookEvent } = await import('../src/webhooks/emit.js');
        await emitWebhookEvent(trx, 'install.created', { id });
      });
    await emit('ins_in_grace');
    const [inGrace] = await deliver();
    assert.equal(String(inGrace!.headers['webhook-signature']).split(' ').length, 2, 'two v1 entries');
    assert.equal(verify(fresh, inGrace!).data.id, 'ins_in_grace');
    assert.equal(verify(endpoint.secret, inGrace!).data.id, 'ins_in_grace', 'the old secret still verifies');

    // The grace is over (the row says so, as 24 h later would).
    await patchbay.patchbay.ctx.store.db
      .updateTable('webhook_endpoints')
      .set({ previous_secret_until: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', endpoint.id)
      .execute();
    await emit('ins_after_grace');
    const [afterGrace] = await deliver();
    assert.equal(String(afterGrace!.headers['webhook-signature']).split(' ').length, 1);
    assert.equal(verify(fresh, afterGrace!).data.id, 'ins_after_grace');
    assert.throws(() => verify(endpoint.secret, afterGrace!), /signature/i, 'the old secret no longer verifies');
    endpoint.secret = fresh;
  });

  it('keeps a delivery log (code, duration, first 1 KB of the answer, next attempt) and retries on request', async () => {
    receiver.reply({ status: 500, body: 'x'.repeat(3000) });
    await patchbay.patchbay.ctx.store.db.transaction().execute(async (trx) => {
      const { emitWebhookEvent } = await import('../src/webhooks/emit.js');
      await emitWebhookEvent(trx, 'install.deleted', { id: 'ins_logged' });
    });
    await deliver();
    const log = await api(`/v1/webhooks/${endpoint.id}/deliveries?status=pending`, { auth: reader });
    assert.equal(log.status, 200);
    const [entry] = (log.json as { data: Array<Record<string, unknown>> }).data;
    assert.equal(entry!.eventType, 'install.deleted');
    assert.equal(entry!.lastStatusCode, 500);
    assert.equal(entry!.attempts, 1);
    assert.equal((entry!.lastResponse as string).length, 1024, 'the answer is cut at 1 KB');
    assert.equal(typeof entry!.lastDurationMs, 'number');
    const wait = Date.parse(entry!.nextAttemptAt as string) - Date.now();
    assert.ok(wait > 3000 && wait < 6000, `the first retry waits about 5 s (${wait} ms)`);
    assert.equal((await deliver()).length, 0, 'nothing is sent before its time');

    assertError(await api(`/v1/webhooks/${endpoint.id}/deliveries/${String(entry!.id)}/retry`, { method: 'POST', auth: reader }), 403, 'insufficient_scope');
    const retried = await api(`/v1/webhooks/${endpoint.id}/deliveries/${String(entry!.id)}/retry`, { method: 'POST', auth: writer });
    assert.equal(retried.status, 200, retried.text);
    const sent = await deliver();
    assert.equal(verify(endpoint.secret, sent[0]!).data.id, 'ins_logged');
    const done = (await api(`/v1/webhooks/${endpoint.id}/deliveries?limit=1`, { auth: reader })).json as { data: Array<Record<string, unknown>> };
    assert.deepEqual([done.data[0]!.status, done.data[0]!.attempts, done.data[0]!.lastStatusCode, done.data[0]!.nextAttemptAt], ['succeeded', 2, 200, null]);
    assertError(await api(`/v1/webhooks/${endpoint.id}/deliveries/whd_nope/retry`, { method: 'POST', auth: writer }), 404, 'delivery_not_found');
  });

  it('pauses a disabled endpoint and resumes it when enabled again', async () => {
    const disabled = await api(`/v1/webhooks/${endpoint.id}`, { method: 'PATCH', auth: writer, body: { enabled: false } });
    assert.deepEqual([(disabled.json as { enabled: boolean }).enabled, (disabled.json as { disabledReason: string }).disabledReason], [false, 'operator']);
    await patchbay.patchbay.ctx.store.db.transaction().execute(async (trx) => {
      const { emitWebhookEvent } = await import('../src/webhooks/emit.js');
      await emitWebhookEvent(trx, 'install.created', { id: 'ins_paused' });
    });
    assert.equal((await deliver()).length, 0, 'a disabled endpoint gets no new deliveries');
    await api(`/v1/webhooks/${endpoint.id}`, { method: 'PATCH', auth: writer, body: { enabled: true } });
  });

  it('never shows a secret after creation: not in answers, logs or the audit trail, which records every change', async () => {
    const audit = await api(`/v1/audit?resourceId=${endpoint.id}&limit=100`, { auth: admin });
    const actions = (audit.json as { data: Array<{ action: string }> }).data.map((entry) => entry.action);
    for (const action of ['webhook.created', 'webhook.secret_rotated', 'webhook.delivery_retried', 'webhook.updated'])
      assert.ok(actions.includes(action), `${action} is audited`);
    const deleted = await api(`/v1/webhooks/${endpoint.id}`, { method: 'DELETE', auth: writer });
    assert.equal(deleted.status, 200);
    assertError(await api(`/v1/webhooks/${endpoint.id}`, { auth: reader }), 404, 'webhook_not_found');
    assert.equal((await api('/v1/audit?limit=100', { auth: admin })).status, 200, 'the whole trail is read (and searched for secrets below)');
    const leaks = watch.leaks();
    assert.deepEqual(leaks, []);
    assert.ok(watch.counts.answers > 20 && watch.counts.logLines > 20, 'the watch saw this file’s answers and logs');
  });
});
