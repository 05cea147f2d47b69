import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decryptCredentials } from '../src/connections/credentials.js';
import { loginAtProvider } from './support/provider-login.js';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';

const HOST_ORIGIN = 'https://app.example.com';

/** Tests age a connection's token by moving its stored expiry to now, then count token requests. */
const CONNECTION_CACHE_SECONDS = 0.2;

describe('token refresh', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let accessKey: string;
  let base: string;

  before(async () => {
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback`, accessTokenTtlSeconds: 3600 });
        return oauthDeclarations(thirdParty, { allowedOrigins: [HOST_ORIGIN] });
      },
      config: { connectionCacheSeconds: CONNECTION_CACHE_SECONDS },
    });
    accessKey = await patchbay.accessKey();
    base = `${patchbay.origin}/v1/integrations/acme-sync`;
  });

  after(async () => {
    await patchbay.close();
    await thirdParty.close();
  });

  const post = (path: string, body: unknown = {}, auth = accessKey) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  async function install(tenantId: string) {
    const session = (await (await post('/session', { tenantId })).json()) as { id: string; startUrl: string; token: string };
    const start = await fetch(`${session.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    const { callbackUrl } = await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`);
    assert.equal((await fetch(callbackUrl)).status, 200);
    const { targetUrl } = (await (await post(`/session/${session.id}/commit`)).json()) as { targetUrl: string };
    for (let attempt = 0; attempt < 50; attempt++) {
      const state = (await (await fetch(targetUrl, { headers: { authorization: `Bearer ${accessKey}` } })).json()) as { operationState: { status: string } };
      if (state.operationState.status === 'success') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
  }

  const storedTokens = async (tenantId: string) => {
    const row = await patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    const credentials = decryptCredentials(patchbay.patchbay.ctx, row);
    assert.equal(credentials.type, 'oauth2');
    return { row, tokens: (credentials as Extract<typeof credentials, { type: 'oauth2' }>).tokens as { accessToken: string; refreshToken: string } };
  };

  // The expiry is moved in the store rather than the clock moved on: the proxy and actions see the
  // row written behind their back once the connection cache window has passed.
  const expireNow = async (tenantId: string) => {
    await patchbay.patchbay.ctx.store.db.updateTable('connections').set({ expires_at: new Date().toISOString() }).where('tenant_id', '=', tenantId).execute();
    await new Promise((resolve) => setTimeout(resolve, CONNECTION_CACHE_SECONDS * 1000 + 50));
  };

  it('refreshes a token due to expire before calling upstream, and 50 concurrent calls make one token request', async () => {
    await install('burst');
    assert.equal((await post('/api/tenant/burst/test')).status, 200);
    assert.equal(thirdParty.tokenRequests.refresh_token, 0, 'a fresh token is used as it is');
    await expireNow('burst');
    const before = thirdParty.tokenRequests.refresh_token;
    const answers = await Promise.all(Array.from({ length: 50 }, () => post('/api/tenant/burst/test')));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as Array<{ status: number }>;
    assert.ok(
      bodies.every((b) => b.status === 200),
      'upstream accepted every call',
    );
    assert.equal(thirdParty.tokenRequests.refresh_token - before, 1, 'exactly one refresh for the burst');
  });

  it('keeps the refresh token the provider rotated, so the next refresh works', async () => {
    await install('rotation');
    const first = await storedTokens('rotation');
    await expireNow('rotation');
    assert.equal((await post('/api/tenant/rotation/test')).status, 200);
    const second = await storedTokens('rotation');
    assert.notEqual(second.tokens.refreshToken, first.tokens.refreshToken, 'the provider rotated the refresh token and it was stored');
    assert.notEqual(second.tokens.accessToken, first.tokens.accessToken);
    await expireNow('rotation');
    assert.equal((await post('/api/tenant/rotation/test')).status, 200, 'the rotated refresh token works');
    const third = await storedTokens('rotation');
    assert.notEqual(third.tokens.refreshToken, second.tokens.refreshToken);
  });

  it('marks the connection needs_reauth when the provider answers invalid_grant', async () => {
    await install('revoked');
    const { tokens } = await storedTokens('revoked');
    const refreshToken = await thirdParty.provider.RefreshToken.find(tokens.refreshToken);
    assert.ok(refreshToken, 'the provider knows the stored refresh token');
    await refreshToken.destroy();
    await expireNow('revoked');
    const answer = await post('/api/tenant/revoked/test');
    assert.equal(answer.status, 409);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'connection_needs_reauth');
    const { row } = await storedTokens('revoked');
    assert.equal(row.status, 'needs_reauth');
  });
});
