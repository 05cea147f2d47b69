import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { MAX_JSON_DEPTH } from '../src/http/body.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations, installEchoForTenant } from './support/install-flow.js';
import { apiClient, assertError, type Api } from './support/keys.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

/** A JSON text nested `levels` deep around `inner`: 5,000 levels are about 10 KB. */
const deep = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);

describe('bounded input: deep JSON and methods the proxy cannot forward', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let call: Api;
  let key: string;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay({ declarations: echoDeclarations(api) });
    call = apiClient(patchbay);
    key = await patchbay.accessKey(['admin']);
    await installEchoForTenant(patchbay.origin, key, 'deep-tenant');
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  it('refuses 5,000 levels of nesting in an event payload with 400 invalid_json naming the limit, and stores nothing', async () => {
    const body = `{"topic":"app/deep","payload":${deep(5000)}}`;
    assert.ok(body.length < 12_000, 'a small body');
    const answer = assertError(await call('/v1/events', { method: 'POST', auth: key, body }), 400, 'invalid_json');
    assert.match(answer.error.message, new RegExp(`${MAX_JSON_DEPTH} levels`));
    const stored = await patchbay.patchbay.ctx.store.db.selectFrom('events').select('seq').execute();
    assert.equal(stored.length, 0, 'nothing half-written');
  });

  it('refuses a NUL character in a body string or key with 400 invalid_json on every store (PostgreSQL cannot store it), and writes nothing', async () => {
    const keys = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').execute();
    const keyId = keys[0]!.id;
    assertError(await call(`/v1/keys/${keyId}`, { method: 'PATCH', auth: key, body: '{"description":"a\\u0000b"}' }), 400, 'invalid_json');
    assertError(await call('/v1/events', { method: 'POST', auth: key, body: '{"topic":"app/nul","payload":{"k\\u0000":1}}' }), 400, 'invalid_json');
    const stored = await patchbay.patchbay.ctx.store.db.selectFrom('events').select('seq').execute();
    assert.equal(stored.length, 0, 'nothing written');
  });

  it('answers a NUL character in a path value with a 4xx, never a 500', async () => {
    const answer = await call('/v1/keys/key_%00abc', { auth: key });
    assert.ok(answer.status >= 400 && answer.status < 500, `${answer.status} ${answer.text}`);
  });

  it('refuses a connector whose action body nests 5,000 levels deep', async () => {
    const body = `{"slug":"deep","name":"Deep","baseUrl":"${api.origin}/bearer","authMethods":[{"type":"bearer"}],"actions":{"a":{"method":"POST","path":"/x","body":${deep(5000, '{}')}}}}`;
    assertError(await call('/v1/connectors', { method: 'POST', auth: key, body }), 400, 'invalid_json');
    assert.equal((await call('/v1/connectors/deep', { auth: key })).status, 404, 'no connector was made');
  });

  it('refuses 5,000 levels in the body a tenant action forwards, before anything reaches the third party', async () => {
    const seenBefore = api.seen.length;
    const body = `{"note":${deep(5000)}}`;
    assertError(await call('/v1/integrations/echo-sync/api/tenant/deep-tenant/echo', { method: 'POST', auth: key, body }), 400, 'invalid_json');
    assert.equal(api.seen.length, seenBefore, 'the stand-in saw no request');
  });

  it(`still accepts ${MAX_JSON_DEPTH} levels, and the tenant action forwards them`, async () => {
    const body = `{"note":${deep(MAX_JSON_DEPTH - 1)}}`;
    const answer = await call('/v1/integrations/echo-sync/api/tenant/deep-tenant/echo', { method: 'POST', auth: key, body });
    assert.equal(answer.status, 200, answer.text);
    const echoed = (answer.json as { body: { body: string } }).body.body;
    assert.equal(echoed, body, 'the third party received the body as sent');
    assertError(
      await call('/v1/integrations/echo-sync/api/tenant/deep-tenant/echo', { method: 'POST', auth: key, body: `{"note":${deep(MAX_JSON_DEPTH)}}` }),
      400,
      'invalid_json',
    );
  });

  it('answers TRACE and other methods a client cannot forward through the proxy with 405 and Allow, never 502', async () => {
    const connection = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('id').executeTakeFirstOrThrow();
    const seenBefore = api.seen.length;
    for (const method of ['TRACE', 'PROPFIND', 'LINK']) {
      const answer = await new Promise<{ status: number; allow: string | undefined; type: string | undefined; body: string }>((resolve, reject) => {
        const request = httpRequest(`${patchbay.origin}/v1/connections/${connection.id}/proxy/me`, { method, headers: { authorization: `Bearer ${key}` } });
        request.on('response', (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, allow: response.headers.allow, type: response.headers['content-type'], body }));
        });
        request.on('error', reject);
        request.end();
      });
      assert.equal(answer.status, 405, `${method}: ${answer.body}`);
      assert.equal(answer.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      assert.match(answer.type ?? '', /application\/json/);
      assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'method_not_allowed');
    }
    assert.equal(api.seen.length, seenBefore, 'nothing reached the third party');
    const allowed = await call(`/v1/connections/${connection.id}/proxy/me`, { method: 'OPTIONS', auth: key });
    assert.notEqual(allowed.status, 405, 'OPTIONS is forwarded');
  });
});
