import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NO_STORE_PREFIXES } from '../src/http/cache.js';
import { routeTable } from '../src/http/route-table.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations } from './support/install-flow.js';
import { apiClient, type Api, type ApiResponse } from './support/keys.js';
import { partnerClient } from './support/partners.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

const EMBED_ORIGIN = 'https://host.example.com';

function assertNoStore(answer: { headers: Headers; status: number }, what: string): void {
  assert.equal(answer.headers.get('cache-control'), 'no-store', `${what} (${answer.status}) must never be cached`);
}

describe('no answer that carries a secret may be cached', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let call: Api;
  let admin: string;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay({ declarations: echoDeclarations(api), config: { partnerEmbedOrigins: [EMBED_ORIGIN] } });
    call = apiClient(patchbay);
    admin = await patchbay.accessKey(['admin']);
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  /** Asserts the answer hands out `secret` (so the walk really reached the secret) and is no-store. */
  function handsOut(answer: ApiResponse | Response, secret: string | undefined, what: string): void {
    assert.ok(secret && secret.length >= 16, `${what} handed out a secret (${answer.status})`);
    assertNoStore(answer, what);
  }

  it('marks every answer that hands out a key, token, link code, session token or webhook secret no-store', async () => {
    const created = await call('/v1/keys', { method: 'POST', auth: admin, body: { name: 'walk', scopes: ['installs:read'] } });
    const { id, key } = created.json as { id: string; key: string };
    handsOut(created, key, 'POST /v1/keys');

    const rolled = await call(`/v1/keys/${id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 60 } });
    handsOut(rolled, (rolled.json as { key: string }).key, 'POST /v1/keys/{id}/roll');

    // A public address: nothing is ever sent (no event it subscribes to happens here).
    const webhook = await call('/v1/webhooks', { method: 'POST', auth: admin, body: { url: 'https://93.184.215.14/in', events: ['webhook.disabled'] } });
    const { id: webhookId, secret } = webhook.json as { id: string; secret: string };
    handsOut(webhook, secret, 'POST /v1/webhooks');
    const rotatedSecret = await call(`/v1/webhooks/${webhookId}/rotate-secret`, { method: 'POST', auth: admin });
    handsOut(rotatedSecret, (rotatedSecret.json as { secret: string }).secret, 'POST /v1/webhooks/{id}/rotate-secret');

    const token = await call('/v1/tokens', { method: 'POST', auth: admin, body: {} });
    handsOut(token, (token.json as { token: string }).token, 'POST /v1/tokens');

    const session = await call('/v1/integrations/echo-sync/session', { method: 'POST', auth: admin, body: { tenantId: 'walker' } });
    handsOut(session, (session.json as { token: string }).token, 'POST /v1/integrations/{id}/session');

    const partners = partnerClient(patchbay, admin);
    const partner = await call('/api/v1/external/partner', { method: 'POST', auth: admin, body: { appName: 'Walker' } });
    const { data } = partner.json as { data: { id: string; url: string } };
    handsOut(partner, new URL(data.url).hash, 'POST /api/v1/external/partner');

    const link = await call(`/v1/partners/${data.id}/links`, { method: 'POST', auth: admin, body: {} });
    const linkUrl = (link.json as { data: { url: string } }).data.url;
    handsOut(link, new URL(linkUrl).hash, 'POST /v1/partners/{id}/links');

    const browser = partners.portal();
    const redeemed = await browser.call('POST', '/redeem', { code: new URL(linkUrl).hash.replace('#code=', '') });
    handsOut(redeemed, redeemed.headers.get('set-cookie') ?? undefined, 'POST /v1/partner-portal/redeem (cookie)');

    const partnerKey = await browser.call('POST', '/keys/dev', {});
    handsOut(partnerKey, ((await partnerKey.json()) as { data: { key: string } }).data.key, 'POST /v1/partner-portal/keys/{env}');
    const rotated = await browser.call('POST', '/keys/dev/rotate', { graceSeconds: 60 });
    handsOut(rotated, ((await rotated.json()) as { data: { key: string } }).data.key, 'POST /v1/partner-portal/keys/{env}/rotate');

    const embedLink = (
      (await (await partners.asOperator('POST', `/v1/partners/${data.id}/links`, {})).json()) as {
        data: { url: string };
      }
    ).data.url;
    const embedded = await call('/v1/partner-portal/redeem', {
      method: 'POST',
      body: { code: new URL(embedLink).hash.replace('#code=', '') },
      headers: { origin: EMBED_ORIGIN, 'x-patchbay-portal': '1' },
    });
    handsOut(embedded, (embedded.json as { session?: { token: string } }).session?.token, 'POST /v1/partner-portal/redeem (embedded)');
  });

  it('marks every answer of every API route no-store, whatever its status, so a new route cannot forget', async () => {
    const routes = routeTable(patchbay.patchbay.app).filter((entry) => NO_STORE_PREFIXES.some((prefix) => entry.path.startsWith(prefix)));
    assert.ok(routes.length >= 40, `the walk covers the API (${routes.length} routes)`);
    for (const entry of routes) {
      const path = entry.path
        .replace('{*rest}', 'anything')
        .replace(':integrationId', 'echo-sync')
        .replace(/:[A-Za-z]+/g, 'x_unknown');
      for (const method of entry.methods.map((name) => (name === '*' ? 'GET' : name))) {
        const answer = await call(path, { method, auth: admin, ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }) });
        assertNoStore(answer, `${method} ${entry.path}`);
      }
    }
  });
});
