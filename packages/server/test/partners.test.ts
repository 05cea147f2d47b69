import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { partnerClient } from './support/partners.js';

describe('partners: one-time links, the portal, partner keys and the operator side', () => {
  let patchbay: TestPatchbay;
  let operatorKey: string;
  let client: ReturnType<typeof partnerClient>;

  before(async () => {
    patchbay = await startPatchbay();
    operatorKey = await patchbay.accessKey(['partners:write', 'admin']);
    client = partnerClient(patchbay, operatorKey);
  });

  after(() => patchbay.close());

  const partnersCount = async () => (await patchbay.patchbay.ctx.store.db.selectFrom('partners').select('id').execute()).length;
  const auditActions = async (partnerId: string) =>
    (await patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').select('action').where('target_id', '=', partnerId).orderBy('id').execute()).map((row) => row.action);

  describe('the link', () => {
    it('answers {data: {id, url}} with the one-time code in the URL fragment, stored only as a hash', async () => {
      const { id, url, code } = await client.createPartner({ appName: 'Shipfast', appDescription: 'Labels', metadata: { color: '#ff0000', tags: ['logistics'], owner: 'ops@acme.example', sla: 'gold' } });
      assert.match(id, /^ptn_[0-9A-Za-z]{22}$/);
      assert.equal(new URL(url).pathname, '/partner');
      assert.match(code, /^pbl_[0-9A-Za-z]{28}$/);
      const rows = await patchbay.patchbay.ctx.store.db.selectFrom('partner_links').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(code), 'the code is not stored');
      assert.ok(!patchbay.logs.text.includes(code), 'the code is in no log line');
    });

    it('refuses any field beyond appName, appDescription and metadata with 400 naming it, and creates nothing', async () => {
      const before = await partnersCount();
      const answer = await client.asOperator('POST', '/api/v1/external/partner', { appName: 'X', webhookUrl: 'https://evil.example' });
      assert.equal(answer.status, 400);
      assert.match(((await answer.json()) as { error: { message: string } }).error.message, /webhookUrl/);
      const huge = await client.asOperator('POST', '/api/v1/external/partner', { metadata: { notes: 'x'.repeat(5000) } });
      assert.equal(huge.status, 400, 'oversized metadata is refused');
      assert.equal(await partnersCount(), before);
    });

    it('needs a key with partners:write (403 insufficient_scope otherwise, 401 without a key)', async () => {
      const other = await patchbay.accessKey(['sessions:write']);
      const refused = await fetch(`${patchbay.origin}/api/v1/external/partner`, { method: 'POST', headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(refused.status, 403);
      assert.equal((await fetch(`${patchbay.origin}/api/v1/external/partner`, { method: 'POST' })).status, 401);
    });

    it('lets exactly one of 20 concurrent redemptions win; the others get the one failure answer', async () => {
      const { code } = await client.createPartner();
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.portal().call('POST', '/redeem', { code })));
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, ...Array(19).fill(404)]);
      const failures = new Set(await Promise.all(answers.filter((answer) => answer.status === 404).map((answer) => answer.text())));
      assert.equal(failures.size, 1, 'every loser gets the same body');
    });

    it('answers unknown, malformed, used, expired and revoked links identically', async () => {
      const used = await client.createPartner();
      await client.portal().call('POST', '/redeem', { code: used.code });
      const revoked = await client.createPartner();
      await client.asOperator('POST', `/v1/partners/${revoked.id}/links/revoke`);
      const expired = await client.createPartner();
      await patchbay.patchbay.ctx.store.db.updateTable('partner_links').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('partner_id', '=', expired.id).execute();
      const codes = [used.code, revoked.code, expired.code, `pbl_${'A'.repeat(28)}`, 'pbl_short', `${used.code.slice(0, -1)}x`];
      const answers = await Promise.all(codes.map(async (code) => {
        const answer = await client.portal().call('POST', '/redeem', { code });
        return `${answer.status} ${await answer.text()}`;
      }));
      assert.equal(new Set(answers).size, 1, answers.join('\n'));
      assert.match(answers[0]!, /^404 .*link_invalid/);
    });

    it('issues a new link for an existing partner, which works once', async () => {
      const partner = await client.createPartner();
      const issued = await client.asOperator('POST', `/v1/partners/${partner.id}/links`);
      assert.equal(issued.status, 201);
      const { data } = (await issued.json()) as { data: { url: string } };
      const code = new URL(data.url).hash.replace('#code=', '');
      assert.equal((await client.portal().call('POST', '/redeem', { code })).status, 200);
      assert.equal((await client.portal().call('POST', '/redeem', { code })).status, 404);
    });
  });

  describe('the portal session', () => {
    it('is an httpOnly, SameSite=Strict cookie scoped to the portal path, stored hashed', async () => {
      const { code } = await client.createPartner();
      const answer = await fetch(`${patchbay.origin}/v1/partner-portal/redeem`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-patchbay-portal': '1' }, body: JSON.stringify({ code }) });
      const cookie = answer.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^patchbay_portal=[A-Za-z0-9_-]{43};/);
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      assert.match(cookie, /Path=\/v1\/partner-portal/);
      const token = cookie.split(';')[0]!.split('=')[1]!;
      const sessions = await patchbay.patchbay.ctx.store.db.selectFrom('portal_sessions').selectAll().execute();
      assert.ok(!JSON.stringify(sessions).includes(token));
    });

    it('refuses writes without the portal header or from another origin (CSRF), and reads without a session', async () => {
      const { browser } = await client.onboard();
      const noHeader = await fetch(`${patchbay.origin}/v1/partner-portal/keys/dev`, { method: 'POST', headers: { cookie: browser.cookie, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(noHeader.status, 403);
      const foreign = await fetch(`${patchbay.origin}/v1/partner-portal/keys/dev`, { method: 'POST', headers: { cookie: browser.cookie, 'content-type': 'application/json', 'x-patchbay-portal': '1', origin: 'https://evil.example' }, body: '{}' });
      assert.equal(foreign.status, 403);
      const anonymous = await fetch(`${patchbay.origin}/v1/partner-portal`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'portal_session_expired');
    });

    it('ends when it expires: the partner must ask for a new link', async () => {
      const { browser, partnerId } = await client.onboard();
      await patchbay.patchbay.ctx.store.db.updateTable('portal_sessions').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('partner_id', '=', partnerId).execute();
      assert.equal((await browser.call('GET', '')).status, 401);
    });

    it('saves the partner’s details, refusing a malformed contact with 400', async () => {
      const { browser } = await client.onboard();
      assert.equal((await browser.call('PATCH', '/partner', { appName: 'Shipfast', contact: 'not-an-email' })).status, 400);
      const saved = await browser.call('PATCH', '/partner', { appName: 'Shipfast 2', appDescription: 'Labels', contact: 'ops@shipfast.example' });
      assert.equal(saved.status, 200);
      const { data } = (await saved.json()) as { data: { partner: { appName: string; contact: string; status: string } } };
      assert.deepEqual([data.partner.appName, data.partner.contact, data.partner.status], ['Shipfast 2', 'ops@shipfast.example', 'active']);
    });
  });

  describe('partner keys', () => {
    it('makes one key per environment, shown once; the state shows only its prefix', async () => {
      const { browser, key } = await client.onboard([], 'dev');
      assert.match(key, /^pbp_[0-9A-Za-z]{28}$/);
      assert.equal((await browser.call('POST', '/keys/dev', {})).status, 409, 'a second dev key is a rotation, not a create');
      assert.equal((await browser.call('POST', '/keys/qa', {})).status, 400, 'only dev, stage and prod');
      const state = await (await browser.call('GET', '')).text();
      assert.ok(!state.includes(key), 'the key is not in any later answer');
      assert.ok(state.includes(key.slice(0, 10)));
      const rows = await patchbay.patchbay.ctx.store.db.selectFrom('partner_keys').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(key), 'stored as a hash only');
    });

    it('rotates with a grace period: both keys work during it, the old one fails with key_expired after', async () => {
      const { browser, key: oldKey } = await client.onboard([{ pattern: 'app/order/*', send: true }]);
      const rotated = await browser.call('POST', '/keys/prod/rotate', { graceSeconds: 3600 });
      assert.equal(rotated.status, 201);
      const { data } = (await rotated.json()) as { data: { key: string; state: { keys: Array<{ previousExpiresAt: string | null }> } } };
      assert.ok(data.state.keys[0]!.previousExpiresAt, 'the state says until when the old key works');
      const publish = (key: string) => fetch(`${patchbay.origin}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'app/order/created', payload: { id: 1 } }) });
      assert.equal((await publish(oldKey)).status, 201);
      assert.equal((await publish(data.key)).status, 201);
      const now = await browser.call('POST', '/keys/prod/rotate', { graceSeconds: 0 });
      const newest = ((await now.json()) as { data: { key: string } }).data.key;
      const expired = await publish(data.key);
      assert.equal(expired.status, 401);
      assert.equal(((await expired.json()) as { error: { code: string } }).error.code, 'key_expired');
      assert.equal((await publish(newest)).status, 201);
      assert.equal((await browser.call('POST', '/keys/prod/rotate', { graceSeconds: 8 * 86_400 })).status, 400, 'at most 7 days');
    });
  });

  describe('the operator side', () => {
    it('suspends a partner: its keys fail with partner_suspended, recorded as an auth event; reinstating brings them back', async () => {
      const { partnerId, key } = await client.onboard([{ pattern: 'app/order/*', send: true }]);
      assert.equal(((await (await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`)).json()) as { status: string }).status, 'suspended');
      const refused = await fetch(`${patchbay.origin}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'app/order/created', payload: {} }) });
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'partner_suspended');
      await patchbay.patchbay.ctx.authEvents.flush();
      const events = await patchbay.patchbay.ctx.store.db.selectFrom('auth_events').selectAll().where('reason', '=', 'partner_suspended').execute();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.key_prefix, key.slice(0, 10));
      assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/reinstate`)).status, 200);
      const again = await fetch(`${patchbay.origin}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'app/order/created', payload: {} }) });
      assert.equal(again.status, 201);
    });

    it('lists partners with status, metadata and tags, filtered by status and tag', async () => {
      const tagged = await client.createPartner({ appName: 'Tagged', metadata: { tags: ['gold-tier'] } });
      const list = (await (await client.asOperator('GET', '/v1/partners?tag=gold-tier&status=invited')).json()) as { data: Array<{ id: string; status: string; tags: string[] }> };
      assert.deepEqual(list.data.map((partner) => partner.id), [tagged.id]);
      assert.deepEqual(list.data[0]!.tags, ['gold-tier']);
    });

    it('grants and revokes topics; subscriptions must stay within the grants', async () => {
      const { partnerId, browser } = await client.onboard();
      const grant = await client.grant(partnerId, 'app/order/*', { receive: true });
      assert.equal((await browser.call('PUT', '/subscriptions', { publish: [], consume: ['app/order/created'] })).status, 200);
      assert.equal((await browser.call('PUT', '/subscriptions', { publish: ['app/order/created'], consume: [] })).status, 400, 'receive-only grant');
      assert.equal((await browser.call('PUT', '/subscriptions', { publish: [], consume: ['app/*/created'] })).status, 400, 'wider than the grant');
      assert.equal((await client.asOperator('DELETE', `/v1/partners/${partnerId}/grants/${grant.id}`)).status, 204);
      const state = (await (await browser.call('GET', '')).json()) as { data: { grants: unknown[] } };
      assert.deepEqual(state.data.grants, []);
      assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/grants`, { pattern: 'App/Bad', send: true })).status, 400);
    });

    it('writes an audit entry for every change and every redemption', async () => {
      const { partnerId, browser } = await client.onboard();
      await browser.call('POST', '/keys/prod/rotate', { graceSeconds: 0 });
      await client.grant(partnerId, 'app/x/*', { send: true });
      await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`);
      assert.deepEqual(await auditActions(partnerId), ['partner.created', 'partner.link_redeemed', 'partner.key_created', 'partner.key_rotated', 'partner.topic_granted', 'partner.suspended']);
    });

    it('keeps partner keys, link codes and portal cookies out of every log line', async () => {
      const { key, browser } = await client.onboard();
      const logs = patchbay.logs.text;
      assert.ok(!logs.includes(key));
      assert.ok(!logs.includes(browser.cookie.split('=')[1]!));
    });
  });
});
