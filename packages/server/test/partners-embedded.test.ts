import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { partnerClient, type PartnerClient, startPartnerServer } from './support/partners.js';

/**
 * Partners: the portal embedded by a host on its own site (partnerEmbedOrigins), and partner keys.
 */
describe('partners: embedded portal and partner keys', () => {
  let patchbay: TestPatchbay, client: PartnerClient;
  before(async () => ({ patchbay, client } = await startPartnerServer()));
  after(() => patchbay.close());

  describe('embedded by a host on its own site (partnerEmbedOrigins)', () => {
    const host = 'https://host.example';
    let embedding: TestPatchbay;
    let embedClient: ReturnType<typeof partnerClient>;

    before(async () => {
      embedding = await startPatchbay({ config: { partnerEmbedOrigins: [host] } });
      embedClient = partnerClient(embedding, await embedding.accessKey(['partners:write']));
    });
    after(() => embedding.close());

    /** The component on the host's page: a cross-origin fetch, so the browser sends `Origin: host`. */
    const fromHost = (path: string, init: { method?: string; token?: string; body?: unknown; origin?: string; cookie?: string } = {}) =>
      fetch(`${embedding.origin}/v1/partner-portal${path}`, {
        method: init.method ?? 'GET',
        headers: {
          origin: init.origin ?? host,
          'x-patchbay-portal': '1',
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          ...(init.cookie ? { cookie: init.cookie } : {}),
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      });
    const redeemFromHost = async (code: string) => {
      const answer = await fromHost('/redeem', { method: 'POST', body: { code } });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('access-control-allow-origin'), host);
      assert.equal(answer.headers.get('set-cookie'), null, 'no cookie: the host’s site could not send it back anyway');
      return (await answer.json()) as { data: { partner: { id: string } }; session: { token: string; expiresAt: string } };
    };

    it('answers a redemption from the host with a session token (no cookie) that works as a bearer token, stored hashed', async () => {
      const partner = await embedClient.createPartner();
      const { data, session } = await redeemFromHost(partner.code);
      assert.equal(data.partner.id, partner.id);
      assert.match(session.token, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(Date.parse(session.expiresAt) > Date.now());
      const state = await fromHost('', { token: session.token });
      assert.equal(state.status, 200);
      const created = await fromHost('/keys/dev', { method: 'POST', token: session.token, body: {} });
      assert.equal(created.status, 201);
      const { data: keyData } = (await created.json()) as { data: { key: string } };
      assert.match(keyData.key, /^pbp_/);
      const sessions = await embedding.patchbay.ctx.store.db.selectFrom('portal_sessions').selectAll().execute();
      assert.ok(!JSON.stringify(sessions).includes(session.token), 'only the hash is stored');
      assert.ok(!embedding.logs.text.includes(session.token), 'the token is not logged');
    });

    it('answers the CORS preflight for the host, with the portal header allowed, and for no other origin', async () => {
      const preflight = (origin: string) =>
        fetch(`${embedding.origin}/v1/partner-portal/keys/dev`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-patchbay-portal' },
        });
      const allowed = await preflight(host);
      assert.equal(allowed.headers.get('access-control-allow-origin'), host);
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /x-patchbay-portal/);
      assert.equal(allowed.headers.get('access-control-allow-credentials'), null, 'cookies never travel cross-origin');
      assert.equal((await preflight('https://evil.example')).headers.get('access-control-allow-origin'), null);
    });

    it('refuses a redemption from an unlisted origin with 403 csrf_check_failed, leaving the link unused', async () => {
      const partner = await embedClient.createPartner();
      const refused = await fromHost('/redeem', { method: 'POST', body: { code: partner.code }, origin: 'https://evil.example' });
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'csrf_check_failed');
      await redeemFromHost(partner.code);
    });

    it('accepts the cookie only from the server’s own origin: from the host a request needs the token', async () => {
      const { browser } = await embedClient.onboard();
      const withCookie = await fromHost('', { cookie: browser.cookie });
      assert.equal(withCookie.status, 403);
      const write = await fromHost('/keys/stage', { method: 'POST', cookie: browser.cookie, body: {} });
      assert.equal(write.status, 403);
    });

    it('does not let a cookie rescue an unknown or ended bearer token', async () => {
      const { browser } = await embedClient.onboard();
      const stale = await fetch(`${embedding.origin}/v1/partner-portal`, { headers: { authorization: `Bearer ${'x'.repeat(43)}`, cookie: browser.cookie } });
      assert.equal(stale.status, 401);
      assert.equal(((await stale.json()) as { error: { code: string } }).error.code, 'portal_session_expired');
      const partner = await embedClient.createPartner();
      const { session } = await redeemFromHost(partner.code);
      await embedding.patchbay.ctx.store.db
        .updateTable('portal_sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('partner_id', '=', partner.id)
        .execute();
      assert.equal((await fromHost('', { token: session.token })).status, 401);
    });

    it('still needs the portal header on writes that carry the token', async () => {
      const partner = await embedClient.createPartner();
      const { session } = await redeemFromHost(partner.code);
      const noHeader = await fetch(`${embedding.origin}/v1/partner-portal/keys/dev`, {
        method: 'POST',
        headers: { origin: host, authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(noHeader.status, 403);
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
      const publish = (key: string) =>
        fetch(`${patchbay.origin}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ topic: 'app/order/created', payload: { id: 1 } }),
        });
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
});
