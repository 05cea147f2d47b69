import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createConnection } from '../src/connections/service.js';
import { auditDeclarations, auditRows, entryFor, flowClient } from './support/audit.js';
import { startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';
import { partnerClient } from './support/partners.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

/** Every secret this file makes carries it, so one search of the audit table finds any that leaked. */
const CANARY = `canary${randomBytes(9).toString('hex')}`;

describe('the audit trail: every change, with its actor, never a secret', () => {
  let thirdParty: ThirdParty;
  let standIn: StandInApi;
  let patchbay: TestPatchbay;
  let admin: string;
  let adminId: string;
  let hostKey: string;
  let hostKeyId: string;
  let flow: ReturnType<typeof flowClient>;
  /** Every secret handed out or typed in, searched for in the raw audit rows at the end. */
  const secrets: string[] = [];

  before(async () => {
    standIn = await startStandInApi();
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        return auditDeclarations(thirdParty, standIn);
      },
    });
    admin = await patchbay.accessKey(['admin'], { name: 'audit-admin' });
    flow = flowClient(patchbay);
    adminId = ((await (await flow.call('GET', '/v1/whoami', admin)).json()) as { keyId: string }).keyId;
    const created = await flow.call('POST', '/v1/keys', admin, { name: 'audit-host', scopes: ['sessions:write', 'installs:read', 'installs:write'] });
    ({ key: hostKey, id: hostKeyId } = (await created.json()) as { key: string; id: string });
    secrets.push(admin, hostKey, thirdParty.clientSecret);
  });

  after(async () => {
    await patchbay?.close();
    await thirdParty?.close();
    await standIn?.close();
  });

  describe('connections, sessions and installs', () => {
    it('records a session created by the host’s key, signed in and authorized by the tenant, committed into an install by the key', async () => {
      const session = await flow.createSession(hostKey, 'echo-sync', { tenantId: 't-audit', connector: 'bearer' });
      secrets.push(session.token, `${CANARY}-bearer-first`);
      await flow.signInWithBearer(session, `${CANARY}-bearer-first`);
      const installId = await flow.commit('echo-sync', session.id, hostKey);

      const created = await entryFor(patchbay, 'session.created', session.id);
      assert.deepEqual([created.actor, created.via, created.target_type], [hostKeyId, null, 'session']);
      assert.equal(created.parsed.tenantId, 't-audit');
      const authorized = await entryFor(patchbay, 'session.authorized', session.id);
      assert.deepEqual([authorized.actor, authorized.via], ['tenant:t-audit', session.id], 'the person, through the session');
      assert.deepEqual((authorized.parsed.changes as Record<string, unknown>).status, { before: 'started', after: 'authorized' });
      const connectionId = String(((authorized.parsed.changes as Record<string, { after: unknown }>).connectionId ?? { after: '' }).after);
      const connection = await entryFor(patchbay, 'connection.created', connectionId);
      assert.deepEqual([connection.actor, connection.via, connection.target_type], ['tenant:t-audit', session.id, 'connection']);
      assert.deepEqual([connection.parsed.connector, connection.parsed.authMethod, connection.parsed.status], ['bearer', 'bearer', 'active']);
      const committed = await entryFor(patchbay, 'session.committed', session.id);
      assert.equal(committed.actor, hostKeyId);
      assert.deepEqual((committed.parsed.changes as Record<string, unknown>).installId, { before: null, after: installId });
      const install = await entryFor(patchbay, 'install.created', installId);
      assert.deepEqual([install.actor, install.target_type, install.parsed.tenantId], [hostKeyId, 'install', 't-audit']);
      assert.deepEqual(install.parsed.connectionIds, [connectionId]);
      assert.ok(committed.id < install.id, 'both written in the commit’s transaction, the session first');
    });

    it('names the tenant as the committer when the widget commits with the session token', async () => {
      const session = await flow.createSession(hostKey, 'echo-sync', { tenantId: 't-widget', connector: 'bearer' });
      secrets.push(session.token, `${CANARY}-bearer-widget`);
      await flow.signInWithBearer(session, `${CANARY}-bearer-widget`);
      const installId = await flow.commit('echo-sync', session.id, session.token);
      const install = await entryFor(patchbay, 'install.created', installId);
      assert.deepEqual([install.actor, install.via], ['tenant:t-widget', session.id]);
      assert.equal((await entryFor(patchbay, 'session.committed', session.id)).actor, 'tenant:t-widget');
    });

    it('records a re-authorization with what changed, then the install deleted and the connection revoked by the key', async () => {
      const first = await flow.createSession(hostKey, 'echo-sync', { tenantId: 't-renew', connector: 'bearer' });
      secrets.push(first.token, `${CANARY}-bearer-old`, `${CANARY}-bearer-new`);
      await flow.signInWithBearer(first, `${CANARY}-bearer-old`);
      const installId = await flow.commit('echo-sync', first.id, hostKey);
      const connectionId = (
        await patchbay.patchbay.ctx.store.db.selectFrom('sessions').select('connection_id').where('id', '=', first.id).executeTakeFirstOrThrow()
      ).connection_id!;

      const renewal = await flow.createSession(hostKey, 'echo-sync', { tenantId: 't-renew', connectionId });
      secrets.push(renewal.token);
      await flow.signInWithBearer(renewal, `${CANARY}-bearer-new`);
      const reauthorized = await entryFor(patchbay, 'connection.reauthorized', connectionId);
      assert.deepEqual([reauthorized.actor, reauthorized.via], ['tenant:t-renew', renewal.id]);
      assert.equal(reauthorized.parsed.connector, 'bearer');

      assert.equal((await flow.call('DELETE', `/v1/integrations/echo-sync/install/${installId}`, hostKey)).status, 204);
      const deleted = await entryFor(patchbay, 'install.deleted', installId);
      assert.deepEqual([deleted.actor, deleted.parsed.tenantId], [hostKeyId, 't-renew']);

      assert.equal((await flow.call('DELETE', `/v1/connections/${connectionId}`, hostKey)).status, 200);
      const revoked = await entryFor(patchbay, 'connection.revoked', connectionId);
      assert.equal(revoked.actor, hostKeyId);
      assert.deepEqual((revoked.parsed.changes as Record<string, unknown>).status, { before: 'active', after: 'revoked' });
    });

    it('records a sign-in the provider failed, and one the person refused, against the tenant', async () => {
      for (const [error, action] of [
        ['server_error', 'session.failed'],
        ['access_denied', 'session.cancelled'],
      ] as const) {
        const session = await flow.createSession(hostKey, 'acme-sync', { tenantId: 't-oauth' });
        secrets.push(session.token);
        const redirect = await flow.start(session);
        assert.equal(redirect.status, 303);
        const state = new URL(redirect.headers.get('location')!).searchParams.get('state')!;
        secrets.push(state);
        await (await fetch(`${patchbay.origin}/oauth/callback?state=${state}&error=${error}`)).text();
        const entry = await entryFor(patchbay, action, session.id);
        assert.deepEqual([entry.actor, entry.via], ['tenant:t-oauth', session.id]);
        assert.equal(
          ((entry.parsed.changes as Record<string, { after: unknown }>).error ?? { after: null }).after,
          error === 'access_denied' ? 'access_denied' : 'provider_error',
        );
      }
    });

    it('names the key that cancels a session from the app’s backend, and the tenant when the widget cancels', async () => {
      for (const by of ['key', 'widget'] as const) {
        const session = await flow.createSession(hostKey, 'echo-sync', { tenantId: 't-cancel', connector: 'bearer' });
        secrets.push(session.token);
        const answer = await flow.call('POST', `/v1/integrations/echo-sync/session/${session.id}/cancel`, by === 'key' ? hostKey : session.token);
        assert.equal(answer.status, 200);
        const entry = await entryFor(patchbay, 'session.cancelled', session.id);
        assert.deepEqual([entry.actor, entry.via], by === 'key' ? [hostKeyId, null] : ['tenant:t-cancel', session.id]);
      }
    });

    it('records a refresh the provider refused as the server’s own change (system), once', async () => {
      const connectionId = await createConnection(patchbay.patchbay.ctx, {
        connector: 'acme',
        tenantId: 't-stale',
        credentials: {
          type: 'oauth2',
          tokens: { accessToken: `${CANARY}-at`, refreshToken: `${CANARY}-rt`, tokenType: 'bearer', scope: null, expiresAt: Date.now() - 1000 },
        },
      });
      secrets.push(`${CANARY}-at`, `${CANARY}-rt`);
      for (let attempt = 0; attempt < 2; attempt++) {
        assert.equal((await flow.call('GET', `/v1/connections/${connectionId}/proxy/me`, hostKey)).status, 409, 'needs re-authorization');
      }
      const failed = await entryFor(patchbay, 'connection.refresh_failed', connectionId);
      assert.deepEqual([failed.actor, failed.parsed.reason], ['system', 'invalid_grant']);
      assert.deepEqual((failed.parsed.changes as Record<string, unknown>).status, { before: 'active', after: 'needs_reauth' });
    });
  });

  describe('keys, partners and connectors', () => {
    it('records each change to a key by the acting admin key', async () => {
      const created = await flow.call('POST', '/v1/keys', admin, { name: 'audit-churn', scopes: ['installs:read'] });
      const { key, id } = (await created.json()) as { key: string; id: string };
      secrets.push(key);
      assert.equal((await flow.call('PATCH', `/v1/keys/${id}`, admin, { description: 'changed' })).status, 200);
      assert.equal((await flow.call('POST', `/v1/keys/${id}/inactivate`, admin)).status, 200);
      assert.equal((await flow.call('POST', `/v1/keys/${id}/reactivate`, admin)).status, 200);
      const rolled = (await (await flow.call('POST', `/v1/keys/${id}/roll`, admin, { gracePeriodSeconds: 0 })).json()) as { key: string; id: string };
      secrets.push(rolled.key);
      for (const action of ['key.created', 'key.updated', 'key.inactivated', 'key.reactivated', 'key.rolled']) {
        assert.equal((await entryFor(patchbay, action, id)).actor, adminId, action);
      }
      assert.equal((await entryFor(patchbay, 'key.created', rolled.id)).actor, adminId, 'the successor’s creation');
      assert.deepEqual((await entryFor(patchbay, 'key.inactivated', id)).parsed.changes, { active: { before: true, after: false } });
      const updated = (await entryFor(patchbay, 'key.updated', id)).parsed as { before: { description: unknown }; after: { description: unknown } };
      assert.deepEqual([updated.before.description, updated.after.description], [null, 'changed'], 'the field before and after');
    });

    it('records each change to a partner, by the operator’s key or by the partner itself', async () => {
      const client = partnerClient(patchbay, admin);
      const partner = await client.createPartner({ appName: 'Audited', metadata: { owner: 'ops@audited.example' } });
      secrets.push(partner.code);
      assert.equal((await client.asOperator('PATCH', `/v1/partners/${partner.id}`, { metadata: { color: '#112233' } })).status, 200);
      const grant = await client.grant(partner.id, 'app/audit/*', { send: true, receive: true });
      const browser = client.portal();
      assert.equal((await browser.call('POST', '/redeem', { code: partner.code })).status, 200);
      secrets.push(browser.cookie.split('=')[1]!);
      const key = ((await (await browser.call('POST', '/keys/dev', {})).json()) as { data: { key: string } }).data.key;
      const rotated = ((await (await browser.call('POST', '/keys/dev/rotate', { graceSeconds: 0 })).json()) as { data: { key: string } }).data.key;
      secrets.push(key, rotated);
      const issued = (await (await client.asOperator('POST', `/v1/partners/${partner.id}/links`)).json()) as { data: { url: string } };
      secrets.push(new URL(issued.data.url).hash.replace('#code=', ''));
      await client.asOperator('POST', `/v1/partners/${partner.id}/links/revoke`);
      await client.asOperator('DELETE', `/v1/partners/${partner.id}/grants/${grant.id}`);
      await client.asOperator('POST', `/v1/partners/${partner.id}/suspend`);
      await client.asOperator('POST', `/v1/partners/${partner.id}/reinstate`);

      const byActor = new Map((await auditRows(patchbay)).filter((row) => row.target_id === partner.id).map((row) => [row.action, row.actor]));
      for (const action of [
        'partner.created',
        'partner.updated',
        'partner.topic_granted',
        'partner.link_issued',
        'partner.links_revoked',
        'partner.topic_revoked',
      ])
        assert.equal(byActor.get(action), adminId, action);
      for (const action of ['partner.suspended', 'partner.reinstated']) assert.equal(byActor.get(action), adminId, action);
      for (const action of ['partner.link_redeemed', 'partner.key_created', 'partner.key_rotated'])
        assert.equal(byActor.get(action), `partner:${partner.id}`, action);
      const updated = await entryFor(patchbay, 'partner.updated', partner.id);
      assert.deepEqual(updated.parsed.changes, { 'metadata.color': { before: null, after: '#112233' } });
    });

    it('records a connector created with a client secret, naming the methods and never the secret', async () => {
      const answer = await flow.call('POST', '/v1/connectors', admin, {
        name: 'Audited CRM',
        baseUrl: 'https://crm.example/api',
        authMethods: [
          {
            type: 'oauth2',
            authorizationUrl: 'https://crm.example/authorize',
            tokenUrl: 'https://crm.example/token',
            clientId: 'crm',
            clientSecret: `${CANARY}-client-secret`,
          },
        ],
      });
      assert.equal(answer.status, 201, await answer.clone().text());
      secrets.push(`${CANARY}-client-secret`);
      const { slug } = (await answer.json()) as { slug: string };
      assert.equal((await entryFor(patchbay, 'connector.created', slug)).actor, adminId);
    });
  });

  it('holds no secret anywhere in the audit table: no canary, key, token, link code, credential or hash', async () => {
    const db = patchbay.patchbay.ctx.store.db;
    const hashes = [
      ...(await db.selectFrom('access_keys').select('secret_hash as value').execute()),
      ...(await db.selectFrom('partner_keys').select('secret_hash as value').execute()),
      ...(await db.selectFrom('partner_links').select('code_hash as value').execute()),
      ...(await db.selectFrom('sessions').select('token_hash as value').execute()),
      ...(await db.selectFrom('connections').select('credentials_ciphertext as value').execute()),
    ].map((row) => row.value);
    const raw = JSON.stringify(await auditRows(patchbay));
    assert.ok(raw.length > 2000, 'the table holds this file’s entries');
    assert.ok(!raw.includes(CANARY), 'the canary is in no audit row');
    for (const secret of [...secrets, ...hashes]) assert.ok(!raw.includes(secret), `a secret (${secret.slice(0, 6)}…) is in an audit row`);
    assert.doesNotMatch(raw, /pbk_[0-9A-Za-z]{20}|pbl_[0-9A-Za-z]{20}|_secret_/, 'no key, link code or session token shape either');
  });
});
