import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations, FLOW_HOST_ORIGIN, installEchoForTenant } from './support/install-flow.js';
import { OpenApiAnswers } from './support/openapi-answers.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

const json = (token: string | null, method: string, body?: unknown): RequestInit => ({
  method,
  headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

async function dataOf<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text) as T;
}

describe('real answers match the OpenAPI document', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let answers: OpenApiAnswers;
  let admin: string;
  let host: string;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay({ declarations: echoDeclarations(api) });
    admin = await patchbay.accessKey(['admin']);
    host = await patchbay.accessKey();
    answers = await OpenApiAnswers.load(patchbay.origin);
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  it('answers the install flow, installs, actions and sessions as documented', async () => {
    const { sessionToken, installId } = await installEchoForTenant(patchbay.origin, host, 'acme');
    const base = '/v1/integrations/echo-sync';
    await dataOf(await answers.fetch(`${base}/install?tag=fusebit.tenantId=acme`, json(host, 'GET')), 200);
    await dataOf(await answers.fetch(`${base}/install/${installId}`, json(host, 'GET')), 200);
    await dataOf(await answers.fetch(`${base}/install/ins_${'0'.repeat(22)}`, json(host, 'GET')), 404);
    await dataOf(await answers.fetch(`${base}/install?limit=0`, json(host, 'GET')), 400);
    await dataOf(await answers.fetch(`${base}/api/tenant/acme/echo`, json(host, 'POST', { hello: 'world' })), 200);
    await dataOf(await answers.fetch(`${base}/api/tenant/nobody/echo`, json(host, 'POST', {})), 404);

    const created = await dataOf<{ id: string; token: string }>(await answers.fetch(`${base}/session`, json(host, 'POST', { tenantId: 'acme' })), 200);
    const session = `${base}/session/${created.id}`;
    await dataOf(await answers.fetch(session, json(created.token, 'GET')), 200);
    await dataOf(await answers.fetch(`${session}/connectors`, json(created.token, 'GET')), 200);
    await dataOf(await answers.fetch(`${session}/commit`, json(created.token, 'POST')), 409);
    await dataOf(await answers.fetch(`${session}/cancel`, json(created.token, 'POST')), 200);
    await dataOf(await answers.fetch(`${session}`, json(sessionToken, 'GET')), 403);
    await dataOf(await answers.fetch(`${base}/session`, json(host, 'POST', { tenantId: 'acme', redirectUrl: 'https://evil.example/' })), 400);
    await dataOf(await answers.fetch(`${base}/session`, json(null, 'POST', { tenantId: 'acme' })), 401);
    await dataOf(
      await answers.fetch(`${base}/session`, {
        ...json(host, 'POST', { tenantId: 'acme' }),
        headers: { authorization: `Bearer ${host}`, origin: 'https://evil.example' },
      }),
      403,
    );

    await dataOf(await answers.fetch('/v1/integrations', json(host, 'GET')), 200);
    await dataOf(await answers.fetch(base, json(host, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/integrations/nothing-here', json(host, 'GET')), 404);
    assert.deepEqual(answers.problems, []);
  });

  it('answers connectors and connections as documented', async () => {
    await installEchoForTenant(patchbay.origin, host, 'globex');
    const page = await dataOf<{ data: Array<{ id: string }> }>(await answers.fetch('/v1/connections?tenantId=globex', json(host, 'GET')), 200);
    const connectionId = page.data[0]!.id;
    await dataOf(await answers.fetch(`/v1/connections/${connectionId}`, json(host, 'GET')), 200);
    await dataOf(await answers.fetch(`/v1/connections/${connectionId}/proxy/me`, json(host, 'GET')), 200);
    await dataOf(await answers.fetch(`/v1/connections/con_${'0'.repeat(22)}/proxy/me`, json(host, 'GET')), 404);
    await dataOf(await answers.fetch(`/v1/connections/con_${'0'.repeat(22)}`, json(host, 'GET')), 404);

    const writer = await patchbay.accessKey(['connectors:write', 'connectors:read']);
    await dataOf(await answers.fetch('/v1/connectors', json(host, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/connectors/bearer', json(host, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/connectors/nothing', json(host, 'GET')), 404);
    await dataOf(await answers.fetch('/v1/connectors/bearer/actions/me/test', json(writer, 'POST', { connectionId })), 200);
    const oauth = {
      name: 'Docs Cloud',
      baseUrl: 'https://api.docs.example',
      authMethods: [{ type: 'oauth2', issuer: 'https://id.docs.example', clientId: 'c', clientSecret: 's' }, { type: 'bearer' }],
    };
    await dataOf(await answers.fetch('/v1/connectors', json(writer, 'POST', oauth)), 201);
    await dataOf(await answers.fetch('/v1/connectors', json(writer, 'POST', { ...oauth, surprise: true })), 400);
    await dataOf(await answers.fetch('/v1/connectors', json(host, 'POST', oauth)), 403);
    await dataOf(
      await answers.fetch('/v1/connectors', {
        ...json(writer, 'POST'),
        headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
        body: '{',
      }),
      400,
    );

    await dataOf(await answers.fetch(`/v1/connections/${connectionId}`, json(host, 'DELETE')), 200);
    await dataOf(await answers.fetch(`/v1/connections/${connectionId}/proxy/me`, json(host, 'GET')), 409);
    assert.deepEqual(answers.problems, []);
  });

  it('answers keys, tokens, auth events and the audit trail as documented', async () => {
    const created = await dataOf<{ id: string; key: string }>(
      await answers.fetch('/v1/keys', json(admin, 'POST', { name: 'docs-key', scopes: ['read-only'] })),
      201,
    );
    await dataOf(await answers.fetch('/v1/keys', json(admin, 'POST', { name: 'docs-key', scopes: ['read-only'] })), 409);
    await dataOf(await answers.fetch('/v1/keys', json(admin, 'POST', { name: 'docs key!', scopes: [] })), 400);
    await dataOf(await answers.fetch('/v1/keys?limit=2', json(admin, 'GET')), 200);
    await dataOf(await answers.fetch(`/v1/keys/${created.id}`, json(admin, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/keys/key_nothing', json(admin, 'GET')), 404);
    await dataOf(await answers.fetch(`/v1/keys/${created.id}`, json(admin, 'PATCH', { description: 'for the docs' })), 200);
    await dataOf(await answers.fetch(`/v1/keys/${created.id}/roll`, json(admin, 'POST', { gracePeriodSeconds: 0 })), 201);
    await dataOf(await answers.fetch(`/v1/keys/${created.id}/inactivate`, json(admin, 'POST')), 200);
    await dataOf(await answers.fetch(`/v1/keys/${created.id}/roll`, json(admin, 'POST', {})), 409);
    await dataOf(await answers.fetch(`/v1/keys/${created.id}/reactivate`, json(admin, 'POST')), 200);
    await dataOf(await answers.fetch('/v1/keys', json(host, 'GET')), 403);
    await dataOf(await answers.fetch('/v1/keys', json('pbk_not_a_key', 'GET')), 401);
    await dataOf(await answers.fetch('/v1/auth-events?outcome=failure', json(admin, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/auth-events?from=yesterday', json(admin, 'GET')), 400);
    await dataOf(await answers.fetch('/v1/audit', json(admin, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/audit?limit=1000', json(admin, 'GET')), 400);
    await dataOf(await answers.fetch('/v1/tokens', json(host, 'POST', { ttlSeconds: 300 })), 201);
    const { token } = await dataOf<{ token: string }>(await answers.fetch('/v1/tokens', json(host, 'POST', {})), 201);
    await dataOf(await answers.fetch('/v1/tokens', json(token, 'POST', {})), 403);
    await dataOf(await answers.fetch('/v1/whoami', json(token, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/whoami', json(null, 'GET')), 401);
    assert.deepEqual(answers.problems, []);
  });

  it('answers partners, the partner portal and events as documented', async () => {
    const operator = await patchbay.accessKey(['partners:write', 'events:publish', 'events:consume']);
    const partner = await dataOf<{ data: { id: string; url: string } }>(
      await answers.fetch('/api/v1/external/partner', json(operator, 'POST', { appName: 'Shipfast', metadata: { tier: 'gold' } })),
      201,
    );
    const id = partner.data.id;
    await dataOf(await answers.fetch('/api/v1/external/partner', json(operator, 'POST', { appName: 'Shipfast', owner: 'me' })), 400);
    await dataOf(await answers.fetch('/v1/partners', json(operator, 'GET')), 200);
    await dataOf(await answers.fetch(`/v1/partners/${id}`, json(operator, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/partners/ptn_nothing', json(operator, 'GET')), 404);
    const grant = await dataOf<{ id: string }>(
      await answers.fetch(`/v1/partners/${id}/grants`, json(operator, 'POST', { pattern: 'app/order/*', receive: true, send: true })),
      201,
    );
    await dataOf(await answers.fetch(`/v1/partners/${id}/grants`, json(operator, 'POST', { pattern: 'app/order/*' })), 400);
    const link = await dataOf<{ data: { url: string } }>(await answers.fetch(`/v1/partners/${id}/links`, json(operator, 'POST')), 201);

    const portal = (cookie: string, method: string, body?: unknown): RequestInit => ({
      ...json(null, method, body),
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(cookie ? { cookie } : {}),
        ...(method === 'GET' ? {} : { 'x-patchbay-portal': '1' }),
      },
    });
    await dataOf(await answers.fetch('/v1/partner-portal', portal('', 'GET')), 401);
    await dataOf(await answers.fetch('/v1/partner-portal/redeem', portal('', 'POST', { code: `pbl_${'B'.repeat(28)}` })), 404);
    const redeemed = await answers.fetch('/v1/partner-portal/redeem', portal('', 'POST', { code: new URL(link.data.url).hash.replace('#code=', '') }));
    await dataOf(redeemed.clone(), 200);
    const cookie = redeemed.headers.get('set-cookie')!.split(';')[0]!;
    await dataOf(await answers.fetch('/v1/partner-portal', portal(cookie, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/partner-portal/partner', portal(cookie, 'PATCH', { appName: 'Shipfast', contact: 'ops@shipfast.example' })), 200);
    await dataOf(
      await answers.fetch('/v1/partner-portal/partner', {
        ...portal(cookie, 'PATCH', { appName: 'Shipfast' }),
        headers: { cookie, 'content-type': 'application/json' },
      }),
      403,
    );
    await dataOf(await answers.fetch('/v1/partner-portal/keys/prod/rotate', portal(cookie, 'POST', { graceSeconds: 0 })), 409);
    await dataOf(await answers.fetch('/v1/partner-portal/keys/prod', portal(cookie, 'POST', {})), 201);
    await dataOf(await answers.fetch('/v1/partner-portal/keys/prod', portal(cookie, 'POST', {})), 409);
    const key = await dataOf<{ data: { key: string } }>(
      await answers.fetch('/v1/partner-portal/keys/prod/rotate', portal(cookie, 'POST', { graceSeconds: 0 })),
      201,
    );
    await dataOf(await answers.fetch('/v1/partner-portal/subscriptions', portal(cookie, 'PUT', { publish: ['app/order/*'], consume: ['app/user/*'] })), 400);
    await dataOf(await answers.fetch('/v1/partner-portal/subscriptions', portal(cookie, 'PUT', { publish: [], consume: ['app/order/*'] })), 200);

    await dataOf(await answers.fetch('/v1/events', json(operator, 'POST', { topic: 'app/order/created', payload: { id: 1 } })), 201);
    await dataOf(await answers.fetch('/v1/events', json(operator, 'POST', { topic: 'App Order', payload: 1 })), 400);
    await dataOf(await answers.fetch('/v1/events?topics=app/order/*', json(operator, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/events?topics=app/user/*', json(key.data.key, 'GET')), 403);
    await dataOf(await answers.fetch('/v1/events', json(host, 'POST', { topic: 'app/order/created', payload: 1 })), 403);

    await dataOf(await answers.fetch(`/v1/partners/${id}/links/revoke`, json(operator, 'POST')), 200);
    await dataOf(await answers.fetch(`/v1/partners/${id}/reinstate`, json(operator, 'POST')), 409);
    await dataOf(await answers.fetch(`/v1/partners/${id}/suspend`, json(operator, 'POST')), 200);
    await dataOf(await answers.fetch('/v1/events?topics=app/order/*', json(key.data.key, 'GET')), 403);
    await dataOf(await answers.fetch(`/v1/partners/${id}/reinstate`, json(operator, 'POST')), 200);
    assert.equal((await answers.fetch(`/v1/partners/${id}/grants/${grant.id}`, json(operator, 'DELETE'))).status, 204);
    await dataOf(await answers.fetch(`/v1/partners/${id}/grants/${grant.id}`, json(operator, 'DELETE')), 404);
    assert.deepEqual(answers.problems, []);
  });

  it('answers health, metrics and the reference as documented', async () => {
    await dataOf(await answers.fetch('/healthz'), 200);
    await dataOf(await answers.fetch('/readyz'), 200);
    assert.equal((await answers.fetch('/metrics', json(admin, 'GET'))).status, 200);
    await dataOf(await answers.fetch('/metrics', json(host, 'GET')), 403);
    assert.equal((await answers.fetch('/openapi.json')).status, 200);
    assert.equal((await answers.fetch('/docs')).status, 200);
    assert.equal((await answers.fetch('/partner')).status, 200);
    assert.equal((await answers.fetch(`/v1/integrations/echo-sync/session/ses_${'0'.repeat(22)}/start?origin=${FLOW_HOST_ORIGIN}`)).status, 404);
    assert.equal((await answers.fetch('/oauth/callback?state=unknown&code=x')).status, 400);
    assert.deepEqual(answers.problems, []);
  });

  it('answers the catalog writes, a partner change, a key tenant change and the audit filters as documented', async () => {
    const writer = await patchbay.accessKey(['connectors:write', 'connectors:read']);
    const connector = await dataOf<{ slug: string }>(
      await answers.fetch('/v1/connectors', json(writer, 'POST', { name: 'Ledger', baseUrl: 'https://api.ledger.example', authMethods: [{ type: 'bearer' }] })),
      201,
    );
    await dataOf(await answers.fetch(`/v1/connectors/${connector.slug}`, json(writer, 'PATCH', { description: 'the books', visibility: 'public' })), 200);
    await dataOf(await answers.fetch(`/v1/connectors/${connector.slug}`, json(writer, 'PATCH', { slug: 'other' })), 400);
    await dataOf(await answers.fetch('/v1/connectors/bearer', json(writer, 'PATCH', { description: 'from the API' })), 409);
    await dataOf(await answers.fetch('/v1/connectors/nothing', json(writer, 'DELETE')), 404);

    const integration = { name: 'Ledger Sync', connectors: [connector.slug], allowedOrigins: [FLOW_HOST_ORIGIN] };
    const created = await dataOf<{ id: string }>(await answers.fetch('/v1/integrations', json(writer, 'POST', integration)), 201);
    await dataOf(await answers.fetch('/v1/integrations', json(writer, 'POST', { ...integration, connectors: ['nothing'] })), 400);
    await dataOf(await answers.fetch('/v1/integrations?limit=1', json(writer, 'GET')), 200);
    await dataOf(await answers.fetch(`/v1/integrations/${created.id}`, json(writer, 'PATCH', { description: 'books to the ledger' })), 200);
    await dataOf(await answers.fetch('/v1/integrations/echo-sync', json(writer, 'PATCH', { description: 'from the API' })), 409);
    await dataOf(await answers.fetch(`/v1/connectors/${connector.slug}`, json(writer, 'DELETE')), 409);
    await dataOf(await answers.fetch('/v1/integrations/echo-sync', json(writer, 'DELETE')), 409);
    await dataOf(await answers.fetch(`/v1/integrations/${created.id}?force=maybe`, json(writer, 'DELETE')), 400);
    await dataOf(await answers.fetch(`/v1/integrations/${created.id}`, json(writer, 'DELETE')), 200);
    await dataOf(await answers.fetch(`/v1/connectors/${connector.slug}`, json(writer, 'DELETE')), 200);

    const operator = await patchbay.accessKey(['partners:write']);
    const partner = await dataOf<{ data: { id: string } }>(
      await answers.fetch('/api/v1/external/partner', json(operator, 'POST', { appName: 'Ledgerly' })),
      201,
    );
    const patch = { metadata: { color: '#33AA66', tags: ['books', 'books'], owner: 'ops@ledgerly.example', sla: 'gold' } };
    await dataOf(await answers.fetch(`/v1/partners/${partner.data.id}`, json(operator, 'PATCH', patch)), 200);
    await dataOf(await answers.fetch(`/v1/partners/${partner.data.id}`, json(operator, 'PATCH', { metadata: { color: null } })), 200);
    await dataOf(await answers.fetch(`/v1/partners/${partner.data.id}`, json(operator, 'GET')), 200);
    await dataOf(await answers.fetch(`/v1/partners/${partner.data.id}`, json(operator, 'PATCH', { metadata: { icon: 'http://x.example/i.png' } })), 400);
    await dataOf(await answers.fetch('/v1/partners/ptn_nothing', json(operator, 'PATCH', { appName: 'Nobody' })), 404);

    const key = await dataOf<{ id: string }>(
      await answers.fetch('/v1/keys', json(admin, 'POST', { name: 'tenant-key', scopes: ['read-only'], tenantId: 'acme' })),
      201,
    );
    await dataOf(await answers.fetch(`/v1/keys/${key.id}`, json(admin, 'PATCH', { tenantId: 'globex' })), 400);
    await dataOf(await answers.fetch(`/v1/audit?resourceType=connector&resourceId=${connector.slug}`, json(admin, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/audit?action=integration.&limit=5', json(admin, 'GET')), 200);
    await dataOf(await answers.fetch('/v1/audit?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', json(admin, 'GET')), 400);
    assert.deepEqual(answers.problems, []);
  });

  it('saw a success and a refusal of every API resource', () => {
    const kindsOf = new Map<string, Set<string>>();
    for (const { operation, status } of answers.seen) {
      const path = operation.split(' ')[1]!;
      if (!/^\/(v1|api)\//.test(path)) continue;
      const resource = path.split('/').slice(0, 3).join('/');
      kindsOf.set(resource, (kindsOf.get(resource) ?? new Set()).add(status < 400 ? 'success' : 'refusal'));
    }
    const resources = [...kindsOf.keys()].sort();
    assert.deepEqual(
      resources.filter((resource) => kindsOf.get(resource)!.size < 2),
      [],
      'resources answered only one way',
    );
    assert.deepEqual(resources, [
      '/api/v1',
      '/v1/audit',
      '/v1/auth-events',
      '/v1/connections',
      '/v1/connectors',
      '/v1/events',
      '/v1/integrations',
      '/v1/keys',
      '/v1/partner-portal',
      '/v1/partners',
      '/v1/tokens',
      '/v1/whoami',
    ]);
  });
});
