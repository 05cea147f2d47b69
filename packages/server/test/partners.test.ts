import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pruneEndedPortalSessions } from '../src/partners/portal.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { auditActionsOf, type PartnerClient, startPartnerServer } from './support/partners.js';

/**
 * Partners: the one-time link and the portal session. The rest: partners-embedded (a host's own
 * site, partner keys) and partners-operator.
 */
describe('partners: one-time links and the portal', () => {
  let patchbay: TestPatchbay, operatorKey: string, client: PartnerClient;
  before(async () => ({ patchbay, operatorKey, client } = await startPartnerServer()));
  after(() => patchbay.close());

  const partnersCount = async () => (await patchbay.patchbay.ctx.store.db.selectFrom('partners').select('id').execute()).length;

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
          (await auditActionsOf(patchbay, id)).filter((action) => action === 'partner.link_redeemed'),
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
});
