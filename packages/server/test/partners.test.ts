import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pruneEndedPortalSessions } from '../src/partners/portal.js';
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
    (await patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').select('action').where('target_id', '=', partnerId).orderBy('id').execute()).map(
      (row) => row.action,
    );

  describe('the link', () => {
    it('answers {data: {id, url}} with the one-time code in the URL fragment, stored only as a hash', async () => {
      const { id, url, code } = await client.createPartner({
        appName: 'Shipfast',
        appDescription: 'Labels',
        metadata: { color: '#ff0000', tags: ['logistics'], owner: 'ops@acme.example', sla: 'gold' },
      });
      assert.match(id, /^ptn_[0-9A-Za-z]{22}$/);
      assert.equal(new URL(url).pathname, '/partner');
      assert.equal(new URL(url).search, '', 'no query string: the code never reaches a server log or a Referer');
      assert.equal(new URL(url).hash, `#code=${code}`);
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

    it('accepts the seed’s exact call and refuses each field outside the allowlist by name, creating nothing', async () => {
      const seedCall = await fetch(`${patchbay.origin}/api/v1/external/partner`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}` },
        body: JSON.stringify({
          appName: 'Acme Fulfillment',
          appDescription: 'Consumes order events',
          metadata: {
            color: '#336699',
            icon: 'https://acme.example/icon.png',
            tags: ['fulfillment'],
            owner: 'team-ops',
            sla: '99.9',
            support: { channel: '#acme' },
          },
        }),
      });
      assert.equal(seedCall.status, 201);
      const body = (await seedCall.json()) as { data: Record<string, unknown> };
      assert.deepEqual(Object.keys(body), ['data']);
      assert.deepEqual(Object.keys(body.data).sort(), ['id', 'url']);
      const before = await partnersCount();
      for (const field of ['id', 'status', 'url', 'tenantId', 'permissions', 'keys']) {
        const answer = await client.asOperator('POST', '/api/v1/external/partner', { appName: 'X', [field]: 'x' });
        assert.equal(answer.status, 400, field);
        const { error } = (await answer.json()) as { error: { code: string; message: string } };
        assert.match(error.message, new RegExp(field), `the error names ${field}`);
      }
      for (const bad of [{ metadata: ['not', 'an', 'object'] }, { appName: 42 }, { appName: 'x'.repeat(101) }]) {
        assert.equal((await client.asOperator('POST', '/api/v1/external/partner', bad)).status, 400, JSON.stringify(bad).slice(0, 40));
      }
      const notJson = await fetch(`${patchbay.origin}/api/v1/external/partner`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorKey}` },
        body: '{"appName":',
      });
      assert.equal(notJson.status, 400);
      assert.equal(await partnersCount(), before, 'no partner from any refused call');
      const links = await patchbay.patchbay.ctx.store.db.selectFrom('partner_links').select('id').execute();
      assert.equal(links.length, before, 'no stray link either');
    });

    it('needs a key with partners:write (403 insufficient_scope otherwise, 401 without a key)', async () => {
      const other = await patchbay.accessKey(['sessions:write']);
      const refused = await fetch(`${patchbay.origin}/api/v1/external/partner`, {
        method: 'POST',
        headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(refused.status, 403);
      assert.equal((await fetch(`${patchbay.origin}/api/v1/external/partner`, { method: 'POST' })).status, 401);
    });

    for (const contenders of [20, 100]) {
      it(`lets exactly one of ${contenders} concurrent redemptions win, with one portal session and one audit entry; the others get the one failure answer`, async () => {
        const { id, code } = await client.createPartner();
        const answers = await Promise.all(Array.from({ length: contenders }, () => client.portal().call('POST', '/redeem', { code })));
        assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, ...Array(contenders - 1).fill(404)]);
        assert.equal(answers.filter((answer) => answer.headers.get('set-cookie')).length, 1, 'one cookie');
        const failures = new Set(await Promise.all(answers.filter((answer) => answer.status === 404).map((answer) => answer.text())));
        assert.equal(failures.size, 1, 'every loser gets the same body');
        const sessions = await patchbay.patchbay.ctx.store.db.selectFrom('portal_sessions').select('id').where('partner_id', '=', id).execute();
        assert.equal(sessions.length, 1);
        assert.deepEqual(
          (await auditActions(id)).filter((action) => action === 'partner.link_redeemed'),
          ['partner.link_redeemed'],
        );
      });
    }

    it('answers unknown, malformed, used, expired and revoked links identically', async () => {
      const used = await client.createPartner();
      await client.portal().call('POST', '/redeem', { code: used.code });
      const revoked = await client.createPartner();
      await client.asOperator('POST', `/v1/partners/${revoked.id}/links/revoke`);
      const expired = await client.createPartner();
      await patchbay.patchbay.ctx.store.db
        .updateTable('partner_links')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('partner_id', '=', expired.id)
        .execute();
      const codes = [used.code, revoked.code, expired.code, `pbl_${'A'.repeat(28)}`, 'pbl_short', `${used.code.slice(0, -1)}x`];
      const answers = await Promise.all(
        codes.map(async (code) => {
          const answer = await client.portal().call('POST', '/redeem', { code });
          return `${answer.status} ${await answer.text()}`;
        }),
      );
      assert.equal(new Set(answers).size, 1, answers.join('\n'));
      assert.match(answers[0]!, /^404 .*link_invalid/);
    });

    it('refuses the link of a suspended partner with the same answer, and leaves it unused', async () => {
      const partner = await client.createPartner();
      const unknown = await client.portal().call('POST', '/redeem', { code: `pbl_${'B'.repeat(28)}` });
      await client.asOperator('POST', `/v1/partners/${partner.id}/suspend`);
      const refused = await client.portal().call('POST', '/redeem', { code: partner.code });
      assert.equal(`${refused.status} ${await refused.text()}`, `${unknown.status} ${await unknown.text()}`);
      const link = await patchbay.patchbay.ctx.store.db
        .selectFrom('partner_links')
        .select('used_at')
        .where('partner_id', '=', partner.id)
        .executeTakeFirstOrThrow();
      assert.equal(link.used_at, null);
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
    it('sets the cookie Secure when the public URL is https', async () => {
      const secure = await startPatchbay({ config: { publicUrl: 'https://patchbay.example' } });
      try {
        const key = await secure.accessKey(['partners:write']);
        const created = await fetch(`${secure.origin}/api/v1/external/partner`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: '{}',
        });
        const { data } = (await created.json()) as { data: { url: string } };
        assert.ok(data.url.startsWith('https://patchbay.example/partner#code=pbl_'), 'the link is on the public URL');
        const code = new URL(data.url).hash.replace('#code=', '');
        const answer = await fetch(`${secure.origin}/v1/partner-portal/redeem`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-patchbay-portal': '1', origin: 'https://patchbay.example' },
          body: JSON.stringify({ code }),
        });
        assert.equal(answer.status, 200);
        assert.match(answer.headers.get('set-cookie') ?? '', /; Secure/);
        assert.equal(answer.headers.get('cache-control'), 'no-store');
      } finally {
        await secure.close();
      }
    });

    it('shows the workspace, the invitation, the grants per environment, the API base URL and when the session ends', async () => {
      const partner = await client.createPartner({ appName: 'Shipfast', metadata: { invitation: 'Publish shipment updates to Acme.' } });
      await client.grant(partner.id, 'app/shipment/*', { send: true, environment: 'prod' });
      await client.grant(partner.id, 'app/shipment/*', { receive: true, environment: 'dev' });
      const browser = client.portal();
      const redeemedAt = Date.now();
      const answer = await browser.call('POST', '/redeem', { code: partner.code });
      const { data } = (await answer.json()) as {
        data: { workspace: unknown; invitation: string; apiBaseUrl: string; partner: unknown; grants: unknown; sessionExpiresAt: string };
      };
      assert.deepEqual(data.workspace, { name: 'Acme Logistics', color: '#0f766e', iconUrl: null });
      assert.equal(data.invitation, 'Publish shipment updates to Acme.');
      assert.equal(data.apiBaseUrl, patchbay.origin);
      assert.deepEqual(data.partner, { id: partner.id, appName: 'Shipfast', appDescription: '', contact: '', status: 'active' });
      assert.deepEqual(data.grants, [
        {
          topic: 'app/shipment/*',
          send: true,
          receive: true,
          environments: [
            { environment: 'dev', send: false, receive: true },
            { environment: 'prod', send: true, receive: false },
          ],
        },
      ]);
      const endsIn = Date.parse(data.sessionExpiresAt) - redeemedAt;
      assert.ok(endsIn > 29 * 60_000 && endsIn <= 30 * 60_000 + 1000, `the session lasts the configured 30 minutes (${endsIn} ms)`);
      const again = (await (await browser.call('GET', '')).json()) as { data: { sessionExpiresAt: string } };
      assert.equal(again.data.sessionExpiresAt, data.sessionExpiresAt);
    });

    it('is an httpOnly, SameSite=Strict cookie scoped to the portal path, stored hashed', async () => {
      const { code } = await client.createPartner();
      const answer = await fetch(`${patchbay.origin}/v1/partner-portal/redeem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-patchbay-portal': '1' },
        body: JSON.stringify({ code }),
      });
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
      const noHeader = await fetch(`${patchbay.origin}/v1/partner-portal/keys/dev`, {
        method: 'POST',
        headers: { cookie: browser.cookie, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(noHeader.status, 403);
      const foreign = await fetch(`${patchbay.origin}/v1/partner-portal/keys/dev`, {
        method: 'POST',
        headers: { cookie: browser.cookie, 'content-type': 'application/json', 'x-patchbay-portal': '1', origin: 'https://evil.example' },
        body: '{}',
      });
      assert.equal(foreign.status, 403);
      const anonymous = await fetch(`${patchbay.origin}/v1/partner-portal`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'portal_session_expired');
    });

    it('ends when the partner is suspended: the portal answers portal_session_expired', async () => {
      const { browser, partnerId } = await client.onboard();
      await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`);
      const answer = await browser.call('GET', '');
      assert.equal(answer.status, 401);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'portal_session_expired');
      assert.equal((await browser.call('POST', '/keys/dev', {})).status, 401);
    });

    it('ends when it expires: the partner must ask for a new link', async () => {
      const { browser, partnerId } = await client.onboard();
      await patchbay.patchbay.ctx.store.db
        .updateTable('portal_sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('partner_id', '=', partnerId)
        .execute();
      assert.equal((await browser.call('GET', '')).status, 401);
    });

    it('is deleted by housekeeping once ended, while live sessions stay', async () => {
      const ended = await client.onboard();
      const live = await client.onboard();
      await patchbay.patchbay.ctx.store.db
        .updateTable('portal_sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('partner_id', '=', ended.partnerId)
        .execute();
      assert.ok((await pruneEndedPortalSessions(patchbay.patchbay.ctx)) >= 1);
      const left = await patchbay.patchbay.ctx.store.db
        .selectFrom('portal_sessions')
        .select('partner_id')
        .where('partner_id', 'in', [ended.partnerId, live.partnerId])
        .execute();
      assert.deepEqual(
        left.map((row) => row.partner_id),
        [live.partnerId],
      );
      assert.equal((await live.browser.call('GET', '')).status, 200);
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

  describe('the operator side', () => {
    it('suspends a partner: its keys fail with partner_suspended, recorded as an auth event; reinstating brings them back', async () => {
      const { partnerId, key } = await client.onboard([{ pattern: 'app/order/*', send: true }]);
      assert.equal(((await (await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`)).json()) as { status: string }).status, 'suspended');
      const refused = await fetch(`${patchbay.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'app/order/created', payload: {} }),
      });
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'partner_suspended');
      await patchbay.patchbay.ctx.authEvents.flush();
      const events = await patchbay.patchbay.ctx.store.db.selectFrom('auth_events').selectAll().where('reason', '=', 'partner_suspended').execute();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.key_prefix, key.slice(0, 10));
      assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/reinstate`)).status, 200);
      const again = await fetch(`${patchbay.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'app/order/created', payload: {} }),
      });
      assert.equal(again.status, 201);
    });

    it('refuses a partner key it admitted a moment ago at the very next call once its grant is revoked or the partner suspended here', async () => {
      const { partnerId, key } = await client.onboard([]);
      const grant = await client.grant(partnerId, 'cached/*', { send: true });
      const publish = () =>
        fetch(`${patchbay.origin}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ topic: 'cached/thing', payload: {} }),
        });
      assert.equal((await publish()).status, 201, 'admitted, and now held for the key cache window');
      assert.equal((await client.asOperator('DELETE', `/v1/partners/${partnerId}/grants/${grant.id}`)).status, 204);
      const ungranted = await publish();
      assert.equal(ungranted.status, 403, 'the grant it held is gone at once');
      assert.equal(((await ungranted.json()) as { error: { code: string } }).error.code, 'insufficient_scope');
      await client.grant(partnerId, 'cached/*', { send: true });
      assert.equal((await publish()).status, 201, 'a new grant counts at once too');
      assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`)).status, 200);
      const suspended = await publish();
      assert.equal(suspended.status, 403);
      assert.equal(((await suspended.json()) as { error: { code: string } }).error.code, 'partner_suspended');
    });

    it('pages through a search with limit and cursor, each partner once, and fills pages under a tag filter', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++)
        made.push(
          (await client.createPartner({ appName: `Pager ${i}`, appDescription: 'zebra-search', metadata: { tags: i % 2 === 0 ? ['even-page'] : [] } })).id,
        );
      const walk = async (query: string) => {
        const seen: string[] = [];
        let cursor: string | null = '';
        let pages = 0;
        while (cursor !== null) {
          const page = (await (await client.asOperator('GET', `/v1/partners?${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
            data: Array<{ id: string }>;
            next: string | null;
          };
          assert.ok(page.data.length <= 2);
          seen.push(...page.data.map((partner) => partner.id));
          cursor = page.next;
          pages += 1;
        }
        return { seen, pages };
      };
      const bySearch = await walk('search=zebra-search');
      assert.deepEqual([...bySearch.seen].sort(), [...made].sort());
      assert.equal(bySearch.pages, 3);
      const byTag = await walk('search=zebra-search&tag=even-page');
      assert.deepEqual([...byTag.seen].sort(), [made[0], made[2], made[4]].sort());
      assert.equal(byTag.pages, 2, 'the first page is full although a tag filter skips rows');
      assert.equal((await client.asOperator('GET', '/v1/partners?limit=0')).status, 400);
      assert.equal((await client.asOperator('GET', '/v1/partners?status=deleted')).status, 400);
    });

    it('shows one partner with its grants and key prefixes, never a key', async () => {
      const { partnerId, key } = await client.onboard([{ pattern: 'app/order/*', send: true }]);
      const answer = await client.asOperator('GET', `/v1/partners/${partnerId}`);
      const text = await answer.text();
      assert.equal(answer.status, 200);
      assert.ok(!text.includes(key));
      const partner = JSON.parse(text) as { status: string; grants: Array<{ topic: string }>; keys: Array<{ environment: string; prefix: string }> };
      assert.equal(partner.status, 'active');
      assert.deepEqual(
        partner.grants.map((grant) => grant.topic),
        ['app/order/*'],
      );
      assert.deepEqual(
        partner.keys.map((row) => [row.environment, row.prefix]),
        [['prod', key.slice(0, 10)]],
      );
      assert.equal((await client.asOperator('GET', '/v1/partners/ptn_unknown')).status, 404);
    });

    it('lists partners with status, metadata and tags, filtered by status and tag', async () => {
      const tagged = await client.createPartner({ appName: 'Tagged', metadata: { tags: ['gold-tier'] } });
      const list = (await (await client.asOperator('GET', '/v1/partners?tag=gold-tier&status=invited')).json()) as {
        data: Array<{ id: string; status: string; tags: string[] }>;
      };
      assert.deepEqual(
        list.data.map((partner) => partner.id),
        [tagged.id],
      );
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
      assert.deepEqual(await auditActions(partnerId), [
        'partner.created',
        'partner.link_redeemed',
        'partner.key_created',
        'partner.key_rotated',
        'partner.topic_granted',
        'partner.suspended',
      ]);
    });

    it('audits links issued and revoked, details, subscriptions, grant revocations and reinstatement, naming the actor', async () => {
      const { partnerId, browser } = await client.onboard();
      const grant = await client.grant(partnerId, 'app/y/*', { receive: true });
      await browser.call('PATCH', '/partner', { appName: 'Renamed', contact: 'ops@renamed.example' });
      await browser.call('PUT', '/subscriptions', { publish: [], consume: ['app/y/*'] });
      await client.asOperator('DELETE', `/v1/partners/${partnerId}/grants/${grant.id}`);
      await client.asOperator('POST', `/v1/partners/${partnerId}/links`);
      const revoked = (await (await client.asOperator('POST', `/v1/partners/${partnerId}/links/revoke`)).json()) as { data: { revoked: number } };
      assert.equal(revoked.data.revoked, 1, 'the unused link is revoked, the used one left as it was');
      await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`);
      await client.asOperator('POST', `/v1/partners/${partnerId}/reinstate`);
      const entries = await patchbay.patchbay.ctx.store.db
        .selectFrom('audit_entries')
        .select(['action', 'actor'])
        .where('target_id', '=', partnerId)
        .orderBy('id')
        .execute();
      assert.deepEqual(entries.map((entry) => entry.action).slice(3), [
        'partner.topic_granted',
        'partner.details_changed',
        'partner.subscriptions_changed',
        'partner.topic_revoked',
        'partner.link_issued',
        'partner.links_revoked',
        'partner.suspended',
        'partner.reinstated',
      ]);
      assert.ok(
        entries
          .filter((entry) => entry.action.startsWith('partner.details') || entry.action.startsWith('partner.subscriptions'))
          .every((entry) => entry.actor === `partner:${partnerId}`),
      );
      const operator = await patchbay.patchbay.ctx.store.db
        .selectFrom('access_keys')
        .select('id')
        .where('key_prefix', '=', operatorKey.slice(0, 10))
        .executeTakeFirstOrThrow();
      const operatorActions = [
        'partner.topic_granted',
        'partner.topic_revoked',
        'partner.link_issued',
        'partner.links_revoked',
        'partner.suspended',
        'partner.reinstated',
      ];
      assert.ok(
        entries.filter((entry) => operatorActions.includes(entry.action)).every((entry) => entry.actor === operator.id),
        'operator changes name the operator’s key',
      );
      assert.ok(!JSON.stringify(entries).includes('pbl_'), 'no link code in the audit trail');
    });

    it('keeps partner keys, link codes and portal cookies out of every log line and every error', async () => {
      const partner = await client.createPartner();
      const browser = client.portal();
      assert.equal((await browser.call('POST', '/redeem', { code: partner.code })).status, 200);
      const replay = await browser.call('POST', '/redeem', { code: partner.code });
      const replayBody = await replay.text();
      const created = await browser.call('POST', '/keys/dev', {});
      const { key } = ((await created.json()) as { data: { key: string } }).data;
      const wrongKey = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
      const refused = await fetch(`${patchbay.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${wrongKey}`, 'content-type': 'application/json' },
        body: '{"topic":"app/a/b","payload":1}',
      });
      const refusedBody = await refused.text();
      const cookie = browser.cookie.split('=')[1]!;
      const logs = patchbay.logs.text;
      for (const secret of [partner.code, key, cookie, wrongKey]) {
        assert.ok(!logs.includes(secret), 'not in the logs');
        assert.ok(!replayBody.includes(secret) && !refusedBody.includes(secret), 'not in an error');
      }
      assert.ok(!(await (await browser.call('GET', '')).text()).includes(key), 'not in a later answer');
    });
  });
});
