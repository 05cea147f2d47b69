import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { type Api, apiClient, assertError, assertOneEvent, createKeyOverHttp, SecretWatch, withEvents } from './support/keys.js';

/** Every key, hash, token, answer and log line of this file, searched for secrets at the end. */
const watch = new SecretWatch();

interface TokenAnswer {
  token: string;
  tokenType: string;
  expiresAt: string;
  scopes: string[];
}

interface WhoAmI {
  keyId: string;
  scopes: string[];
  tenantId: string | null;
  via: 'key' | 'token';
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('short-lived access tokens (POST /v1/tokens)', () => {
  let patchbay: TestPatchbay;
  let api: Api;
  let admin: string;

  before(async () => {
    // No key cache: an inactivation reaches every token at once, so the test needs no waiting.
    patchbay = await startPatchbay({ dev: true, config: { keyCacheSeconds: 0 } });
    watch.watchLogs(patchbay.logs, 'the token server');
    api = apiClient(patchbay, watch);
    admin = await patchbay.accessKey(['admin'], { name: 'tokens-admin' });
    watch.addKey(admin, 'tokens-admin');
  });

  after(async () => {
    await watch.collectHashes(patchbay);
    await patchbay.close();
  });

  const hostScopes = ['installs:read', 'installs:write', 'sessions:write'];

  async function issue(key: string, body: Record<string, unknown> = {}): Promise<TokenAnswer> {
    const response = await api('/v1/tokens', { method: 'POST', auth: key, body });
    assert.equal(response.status, 201, response.text);
    const answer = response.json as TokenAnswer;
    watch.handedOut(response, answer.token, `a token of ${JSON.stringify(body)}`);
    return answer;
  }

  it('exchanges a key for a short-lived ES256 JWT (201) that names its key, scopes and a 15-minute expiry', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-source', scopes: hostScopes }, watch);
    const answer = await issue(key);
    assert.equal(answer.tokenType, 'Bearer');
    assert.deepEqual(answer.scopes, hostScopes, 'by default the key’s own scopes');
    assert.ok(!answer.token.includes(key) && !answer.token.includes(key.slice(10)), 'the token does not carry the key');
    const header = decodeProtectedHeader(answer.token);
    assert.ok(header.alg === 'ES256' || header.alg === 'EdDSA', `signed with ES256 or EdDSA (${header.alg})`);
    const claims = decodeJwt(answer.token);
    assert.equal(claims.sub, record.id);
    assert.equal(claims.exp! - claims.iat!, 900, 'fifteen minutes by default');
    assert.equal(new Date(claims.exp! * 1000).toISOString(), answer.expiresAt);
    assert.ok(Date.parse(answer.expiresAt) > Date.now());
  });

  it('authenticates with the token: GET /v1/whoami shows the key and via: "token", and records a success for the key', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-whoami', scopes: hostScopes }, watch);
    const { token } = await issue(key);
    const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: token }));
    assert.equal(response.status, 200, response.text);
    const who = response.json as WhoAmI;
    assert.deepEqual([who.keyId, who.via, who.scopes], [record.id, 'token', hostScopes]);
    assertOneEvent(events, { outcome: 'success', reason: null, key_id: record.id, key_prefix: record.keyPrefix, path: '/v1/whoami' });
    assert.equal(
      (await api('/v1/integrations/demo/session', { method: 'POST', auth: token, body: { tenantId: 'token-tenant' } })).status,
      200,
      'the same middleware accepts it on API routes',
    );
  });

  it('honours a chosen lifetime within bounds and refuses one outside them', async () => {
    const { key } = await createKeyOverHttp(api, admin, { name: 'token-ttl', scopes: hostScopes }, watch);
    const { token } = await issue(key, { ttlSeconds: 120 });
    const claims = decodeJwt(token);
    assert.equal(claims.exp! - claims.iat!, 120);
    assertError(await api('/v1/tokens', { method: 'POST', auth: key, body: { ttlSeconds: 30 } }), 400, 'invalid_request', 'below a minute');
    assertError(await api('/v1/tokens', { method: 'POST', auth: key, body: { ttlSeconds: 86_401 } }), 400, 'invalid_request', 'beyond a day');
    assertError(await api('/v1/tokens', { method: 'POST', auth: key, body: { audience: 'x' } }), 400, 'invalid_request', 'unknown field');
  });

  it('refuses to issue a token with a scope the key does not hold (403 insufficient_scope)', async () => {
    const { key } = await createKeyOverHttp(api, admin, { name: 'token-narrow-key', scopes: ['installs:read'] }, watch);
    const response = await api('/v1/tokens', { method: 'POST', auth: key, body: { scopes: ['installs:read', 'installs:write'] } });
    const body = assertError(response, 403, 'insufficient_scope');
    assert.match(body.error.message, /installs:write/);
    assertError(await api('/v1/tokens', { method: 'POST', auth: key, body: { scopes: ['admin'] } }), 403, 'insufficient_scope', 'admin');
    assert.ok(!JSON.stringify(response.json).includes('eyJ'), 'no token in the refusal');
  });

  it('gives a token only the scopes asked for: an installs:read token gets insufficient_scope on a write route', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-subset', scopes: hostScopes }, watch);
    const answer = await issue(key, { scopes: ['installs:read'] });
    assert.deepEqual(answer.scopes, ['installs:read']);
    assert.deepEqual(((await api('/v1/whoami', { auth: answer.token })).json as WhoAmI).scopes, ['installs:read']);
    assert.equal((await api('/v1/integrations/demo/install', { auth: answer.token })).status, 200, 'a read route works');

    const { response, events } = await withEvents(patchbay, () =>
      api('/v1/integrations/demo/session', { method: 'POST', auth: answer.token, body: { tenantId: 't' } }),
    );
    assertError(response, 403, 'insufficient_scope');
    assertOneEvent(events, { outcome: 'failure', reason: 'insufficient_scope', key_id: record.id, key_prefix: record.keyPrefix });
    assertError(
      await api('/v1/integrations/demo/api/tenant/t/test', { method: 'POST', auth: answer.token, body: {} }),
      403,
      'insufficient_scope',
      'tenant action',
    );
  });

  it('never holds more than its key holds now: narrowing the key’s scopes narrows its tokens', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-narrowed-later', scopes: hostScopes }, watch);
    const { token } = await issue(key);
    assert.equal((await api('/v1/integrations/demo/session', { method: 'POST', auth: token, body: { tenantId: 'before-narrowing' } })).status, 200);
    const patched = await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { scopes: ['installs:read'] } });
    assert.equal(patched.status, 200, patched.text);
    assertError(await api('/v1/integrations/demo/session', { method: 'POST', auth: token, body: { tenantId: 'after-narrowing' } }), 403, 'insufficient_scope');
    assert.deepEqual(((await api('/v1/whoami', { auth: token })).json as WhoAmI).scopes, ['installs:read']);
  });

  it('keeps the key’s tenant restriction: a token from a tenant key is refused for another tenant', async () => {
    const { key } = await createKeyOverHttp(api, admin, { name: 'token-tenant-key', scopes: hostScopes, tenantId: 'tenant-a' }, watch);
    const { token } = await issue(key);
    assert.equal(((await api('/v1/whoami', { auth: token })).json as WhoAmI).tenantId, 'tenant-a');
    assertError(await api('/v1/integrations/demo/api/tenant/tenant-b/test', { method: 'POST', auth: token, body: {} }), 403, 'tenant_forbidden');
    assertError(await api('/v1/integrations/demo/session', { method: 'POST', auth: token, body: { tenantId: 'tenant-b' } }), 403, 'tenant_forbidden');
  });

  it('stops working once its key is inactivated (401 key_inactive, immediate with no key cache), and works again on reactivation', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-inactivated', scopes: hostScopes }, watch);
    const { token } = await issue(key);
    assert.equal((await api('/v1/whoami', { auth: token })).status, 200);
    assert.equal((await api(`/v1/keys/${record.id}/inactivate`, { method: 'POST', auth: admin })).status, 200);
    const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: token }));
    assertError(response, 401, 'key_inactive');
    assertOneEvent(events, { outcome: 'failure', reason: 'key_inactive', key_id: record.id, key_prefix: record.keyPrefix });
    assertError(await api('/v1/tokens', { method: 'POST', auth: key }), 401, 'key_inactive', 'nor can the key make new tokens');
    assert.equal((await api(`/v1/keys/${record.id}/reactivate`, { method: 'POST', auth: admin })).status, 200);
    assert.equal((await api('/v1/whoami', { auth: token })).status, 200);
  });

  it('inactivation made elsewhere (straight in the store, as another instance would) reaches the token within the cache window', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-inactivated-elsewhere', scopes: hostScopes }, watch);
    const { token } = await issue(key);
    assert.equal((await api('/v1/whoami', { auth: token })).status, 200);
    await patchbay.patchbay.ctx.store.db.updateTable('access_keys').set({ inactive_at: new Date().toISOString() }).where('id', '=', record.id).execute();
    assertError(await api('/v1/whoami', { auth: token }), 401, 'key_inactive', 'keyCacheSeconds 0: at once');
  });

  it('stops working when its key is rolled with no grace period (401 key_expired)', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-rolled', scopes: hostScopes }, watch);
    const { token } = await issue(key);
    const rolled = await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 0 } });
    assert.equal(rolled.status, 201);
    watch.handedOut(rolled, (rolled.json as { key: string }).key, 'token-rolled-r2');
    assertError(await api('/v1/whoami', { auth: token }), 401, 'key_expired');
  });

  it('refuses a tampered token with 401 invalid_credentials: a raised scope, a changed subject, a flipped signature, alg none, a foreign signer', async () => {
    const { key: narrowKey, record: narrow } = await createKeyOverHttp(api, admin, { name: 'token-tamper', scopes: ['installs:read'] }, watch);
    const { token } = await issue(narrowKey);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = decodeJwt(token);
    const adminId = ((await api('/v1/whoami', { auth: admin })).json as WhoAmI).keyId;

    const foreign = await generateKeyPair('ES256');
    const foreignToken = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(foreign.privateKey);
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    const forged: Array<[string, string]> = [
      ['a raised scope', `${header}.${base64url({ ...claims, scope: 'admin' })}.${signature}`],
      ['another key as subject', `${header}.${base64url({ ...claims, sub: adminId })}.${signature}`],
      ['a later expiry', `${header}.${base64url({ ...claims, exp: claims.exp! + 86_400 })}.${signature}`],
      ['a flipped signature', `${header}.${payload}.${flipped}`],
      ['no signature', `${header}.${payload}.`],
      ['alg none', `${base64url({ alg: 'none', typ: 'at+jwt' })}.${base64url({ ...claims, scope: 'admin' })}.`],
      ['a foreign signing key', foreignToken],
      ['a truncated token', token.slice(0, -5)],
    ];
    for (const [what, tampered] of forged) {
      const { response, events } = await withEvents(patchbay, () => api('/v1/keys', { auth: tampered }));
      assertError(response, 401, 'invalid_credentials', what);
      assertOneEvent(events, { outcome: 'failure', reason: 'invalid_credentials', key_id: null }, what);
    }
    assert.equal((await api('/v1/whoami', { auth: token })).status, 200, 'the untouched token still works');
    assert.notEqual(narrow.id, adminId);
  });

  it('refuses an expired token with 401 invalid_credentials', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-expired', scopes: hostScopes }, watch);
    assert.equal((await api('/v1/whoami', { auth: key })).status, 200);
    // The server's own signer, asked for a token that ended a minute ago.
    const { token } = await patchbay.patchbay.ctx.tokenSigner.sign({ keyId: record.id, scopes: ['installs:read'], tenantId: null, ttlSeconds: -60 });
    watch.addSecret(token, 'an expired token');
    assertError(await api('/v1/whoami', { auth: token }), 401, 'invalid_credentials');
  });

  it('cannot exchange a token for another token (403)', async () => {
    const { key } = await createKeyOverHttp(api, admin, { name: 'token-chain', scopes: hostScopes }, watch);
    const { token } = await issue(key);
    const response = await api('/v1/tokens', { method: 'POST', auth: token, body: {} });
    assertError(response, 403, 'insufficient_scope');
    assert.ok(!response.text.includes('eyJ'), 'no token in the answer');
    assertError(
      await api('/v1/tokens', { method: 'POST', auth: token, body: { scopes: ['installs:read'] } }),
      403,
      'insufficient_scope',
      'not even a narrower one',
    );
  });

  it('records a refused exchange as an insufficient_scope failure event, not as a success', async () => {
    const { key, record } = await createKeyOverHttp(api, admin, { name: 'token-refusals-recorded', scopes: ['installs:read'] }, watch);
    const beyond = await withEvents(patchbay, () => api('/v1/tokens', { method: 'POST', auth: key, body: { scopes: ['installs:write'] } }));
    assertError(beyond.response, 403, 'insufficient_scope');
    assertOneEvent(beyond.events, { outcome: 'failure', reason: 'insufficient_scope', key_id: record.id }, 'a scope beyond the key');

    const { token } = await issue(key);
    const chained = await withEvents(patchbay, () => api('/v1/tokens', { method: 'POST', auth: token, body: {} }));
    assertError(chained.response, 403, 'insufficient_scope');
    assertOneEvent(chained.events, { outcome: 'failure', reason: 'insufficient_scope', key_id: record.id }, 'a token for a token');
  });

  it('no key, stored hash, token or JWT appears in a log line or in an answer other than the one that handed it out', async () => {
    await watch.collectHashes(patchbay);
    const { secrets, answers, logLines } = watch.counts;
    assert.ok(secrets >= 30, `the search covers the file's keys, hashes and tokens (${secrets})`);
    assert.ok(answers >= 50, `the search covers the file's answers (${answers})`);
    assert.ok(logLines >= 50, `the search covers the file's logs (${logLines})`);
    assert.deepEqual(watch.leaks(), []);
  });
});
