import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations, FLOW_HOST_ORIGIN, installEchoForTenant } from './support/install-flow.js';
import { apiClient, type Api, assertError } from './support/keys.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

const ACTION = '/v1/integrations/echo-sync/api/tenant/route-tenant/echo';

/**
 * What `POST …/api/tenant/:tenantId/:action` promises on the wire, whatever shape its route takes
 * (integrations/routes.ts runs its CORS rule, body parser and authentication in the route itself):
 * the answer, the integration's CORS rule, the body limit, the scope and the key's tenant.
 */
describe('the tenant action route', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let call: Api;
  let hostKey: string;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay({ declarations: echoDeclarations(api) });
    call = apiClient(patchbay);
    hostKey = await patchbay.accessKey();
    await installEchoForTenant(patchbay.origin, hostKey, 'route-tenant');
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  it('answers {status, body} as UTF-8 JSON that no cache keeps, with the upstream’s answer and the host’s body forwarded', async () => {
    const answer = await call(ACTION, { method: 'POST', auth: hostKey, body: { note: 'héllo ✓' } });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.equal(Number(answer.headers.get('content-length')), Buffer.byteLength(answer.text), 'the declared length is the UTF-8 length');
    const result = answer.json as { status: number; body: { path: string; body: string } };
    assert.deepEqual(Object.keys(result), ['status', 'body']);
    assert.equal(result.status, 200);
    assert.equal(result.body.path, '/bearer/echo');
    assert.deepEqual(JSON.parse(result.body.body), { note: 'héllo ✓' });
  });

  it('follows the integration’s CORS rule: any page’s preflight, its allowed origins’ calls, a 403 for the others', async () => {
    for (const origin of [FLOW_HOST_ORIGIN, 'https://elsewhere.example.net']) {
      const preflight = await fetch(`${patchbay.origin}${ACTION}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      assert.equal(preflight.status, 204, origin);
      assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
      assert.deepEqual((preflight.headers.get('access-control-allow-methods') ?? '').split(','), ['GET', 'POST', 'DELETE']);
    }
    const allowed = await call(ACTION, { method: 'POST', auth: hostKey, body: {}, headers: { origin: FLOW_HOST_ORIGIN } });
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal(allowed.headers.get('access-control-allow-origin'), FLOW_HOST_ORIGIN);
    assert.match(allowed.headers.get('vary') ?? '', /origin/i);
    const refused = assertError(
      await call(ACTION, { method: 'POST', auth: hostKey, body: {}, headers: { origin: 'https://elsewhere.example.net' } }),
      403,
      'origin_not_allowed',
    );
    assert.match(refused.error.message, /elsewhere\.example\.net/);
    const backend = await call(ACTION, { method: 'POST', auth: hostKey, body: {} });
    assert.match(backend.headers.get('vary') ?? '', /origin/i, 'an answer without Origin still varies by it');
  });

  it('refuses a body over 256 KB with 413 and one that is not JSON with 400, before calling the third party', async () => {
    const before = api.seen.length;
    assertError(await call(ACTION, { method: 'POST', auth: hostKey, body: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }) }), 413, 'payload_too_large');
    assertError(await call(ACTION, { method: 'POST', auth: hostKey, body: '{"unfinished":' }), 400, 'invalid_json');
    assert.equal(api.seen.length, before, 'nothing reached the third party');
  });

  it('needs a key with installs:write, restricted to no tenant or to this one', async () => {
    assertError(await call(ACTION, { method: 'POST', body: {} }), 401, 'invalid_credentials');
    assertError(await call(ACTION, { method: 'POST', auth: await patchbay.accessKey(['installs:read']), body: {} }), 403, 'insufficient_scope');
    const otherTenant = await patchbay.accessKey(['installs:write'], { tenantId: 'someone-else' });
    assertError(await call(ACTION, { method: 'POST', auth: otherTenant, body: {} }), 403, 'tenant_forbidden');
    const thisTenant = await patchbay.accessKey(['installs:write'], { tenantId: 'route-tenant' });
    assert.equal((await call(ACTION, { method: 'POST', auth: thisTenant, body: {} })).status, 200);
  });

  it('answers an unknown integration, action or tenant with a 404 naming it', async () => {
    assertError(await call('/v1/integrations/nowhere/api/tenant/route-tenant/echo', { method: 'POST', auth: hostKey, body: {} }), 404, 'integration_not_found');
    assertError(await call('/v1/integrations/echo-sync/api/tenant/route-tenant/nothing', { method: 'POST', auth: hostKey, body: {} }), 404, 'action_not_found');
    // A name every object inherits is no action of the integration.
    assertError(
      await call('/v1/integrations/echo-sync/api/tenant/route-tenant/constructor', { method: 'POST', auth: hostKey, body: {} }),
      404,
      'action_not_found',
    );
    assertError(await call('/v1/integrations/echo-sync/api/tenant/nobody/echo', { method: 'POST', auth: hostKey, body: {} }), 404, 'install_not_found');
  });

  it('answers the same through its fast lane (the plain path) and through Express (an escaped integration id): success, CORS, every refusal', async () => {
    // `echo%2Dsync` is the same integration to Express's router; the fast lane takes only the plain form.
    const escaped = (path: string) => path.replace('/echo-sync/', '/echo%2Dsync/').replace('/nowhere/', '/now%68ere/');
    const readOnly = await patchbay.accessKey(['installs:read']);
    const otherTenant = await patchbay.accessKey(['installs:write'], { tenantId: 'someone-else' });
    const cases: Array<[name: string, path: string, options: Parameters<Api>[1]]> = [
      ['a call with a body', ACTION, { method: 'POST', auth: hostKey, body: { note: 'héllo ✓' } }],
      ['an allowed page', ACTION, { method: 'POST', auth: hostKey, body: {}, headers: { origin: FLOW_HOST_ORIGIN } }],
      ['a page not allowed', ACTION, { method: 'POST', auth: hostKey, body: {}, headers: { origin: 'https://elsewhere.example.net' } }],
      ['a body over the limit', ACTION, { method: 'POST', auth: hostKey, body: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }) }],
      ['a body that is not JSON', ACTION, { method: 'POST', auth: hostKey, body: '{"unfinished":' }],
      ['no key', ACTION, { method: 'POST', body: {} }],
      ['a key without the scope', ACTION, { method: 'POST', auth: readOnly, body: {} }],
      ['a key of another tenant', ACTION, { method: 'POST', auth: otherTenant, body: {} }],
      ['an unknown integration', '/v1/integrations/nowhere/api/tenant/route-tenant/echo', { method: 'POST', auth: hostKey, body: {} }],
      ['an unknown tenant', '/v1/integrations/echo-sync/api/tenant/nobody/echo', { method: 'POST', auth: hostKey, body: {} }],
    ];
    const seen = async (path: string, options: Parameters<Api>[1]) => {
      const answer = await call(path, options);
      const headers = ['content-type', 'cache-control', 'access-control-allow-origin', 'vary'].map((name) => `${name}: ${answer.headers.get(name)}`);
      // The upstream's echo of the call; only its own connection header may differ.
      return { status: answer.status, headers, body: answer.text.replace(/\\?"connection\\?":\\?"[^"\\]*\\?",?/, '') };
    };
    for (const [name, path, options] of cases) assert.deepEqual(await seen(path, options), await seen(escaped(path), options), name);
  });
});
