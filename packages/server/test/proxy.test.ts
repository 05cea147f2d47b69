import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection } from '../src/connections/service.js';
import { resolveUnderBase } from '../src/connectors/upstream.js';
import type { Declarations } from '../src/index.js';
import { listenOnLoopback, closeServer, startPatchbay, type TestPatchbay } from './support/harness.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

describe('the proxy and connector actions', () => {
  let api: StandInApi;
  let elsewhere: { origin: string; hits: number; close(): Promise<void> };
  let patchbay: TestPatchbay;
  let accessKey: string;
  let connectionId: string;

  before(async () => {
    api = await startStandInApi();
    // Another host the proxy must never reach, whatever the path or the upstream's redirects say.
    const other = await listenOnLoopback();
    elsewhere = { origin: other.origin, hits: 0, close: () => closeServer(other.server) };
    other.server.on('request', (_req, res) => {
      elsewhere.hits += 1;
      res.end('you should not be here');
    });
    const declarations: Declarations = {
      connectors: [
        {
          slug: 'bearer',
          name: 'Bearer API',
          description: '',
          baseUrl: `${api.origin}/bearer`,
          visibility: 'private',
          authMethods: [{ type: 'bearer' }],
          actions: { me: { method: 'GET', path: '/me', query: {} }, echo: { method: 'GET', path: '/echo', query: { token: STAND_IN.bearer } } },
        },
      ],
      integrations: [],
    } as unknown as Declarations;
    patchbay = await startPatchbay({ declarations, config: { upstreamTimeoutMs: 300 } });
    accessKey = await patchbay.accessKey(['installs:read', 'installs:write', 'connectors:read', 'connectors:write']);
    connectionId = await createConnection(patchbay.patchbay.ctx, { connector: 'bearer', tenantId: 't1', credentials: { type: 'bearer', token: STAND_IN.bearer } });
  });

  after(async () => {
    await patchbay.close();
    await api.close();
    await elsewhere.close();
  });

  const call = (path: string, init: { method?: string; json?: unknown } = {}) =>
    fetch(`${patchbay.origin}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${accessKey}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      redirect: 'manual',
    });

  it('forwards a path under the base URL with the credentials applied and the query kept', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/echo?page=2&q=a%20b`);
    assert.equal(answer.status, 200);
    const echo = (await answer.json()) as { path: string; query: Record<string, string> };
    assert.equal(echo.path, '/bearer/echo');
    assert.deepEqual(echo.query, { page: '2', q: 'a b' });
  });

  describe('SSRF: paths that would leave the base URL are refused with 400 before anything is sent', () => {
    // Sent as raw request targets (fetch would normalise some of them away).
    const crafted = [
      '../basic/me',
      '..%2fbasic%2fme',
      '%2e%2e/basic/me',
      '%2E%2E/%2E%2E/admin',
      '%252e%252e/basic/me',
      '.%2e/basic/me',
      'me/../../basic/me',
      '..\\basic\\me',
      '%5c%5cevil.example/x',
      '//evil.example/x',
      'http://evil.example/x',
      'http:%2f%2fevil.example/x',
      'https:/evil.example',
      'me%00.json',
      'me%0d%0aHost:%20evil.example',
      'javascript:alert(1)',
    ];

    for (const path of crafted) {
      it(`refuses ${JSON.stringify(path)}`, async () => {
        const seenBefore = api.seen.length;
        const answer = await rawGet(`/v1/connections/${connectionId}/proxy/${path}`);
        assert.equal(answer.status, 400, `answered ${answer.status}: ${answer.body}`);
        assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'path_not_allowed');
        assert.equal(api.seen.length, seenBefore, 'the stand-in saw nothing');
        assert.equal(elsewhere.hits, 0);
      });
    }

    /** A GET with the request target written exactly as given, bypassing URL normalisation. */
    async function rawGet(target: string): Promise<{ status: number; body: string }> {
      const { request } = await import('node:http');
      const url = new URL(patchbay.origin);
      return new Promise((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, method: 'GET', path: target, headers: { authorization: `Bearer ${accessKey}` } }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    }

    it('keeps every resolved URL under the base, whatever the input (resolveUnderBase)', () => {
      const base = 'https://api.example.com/v2';
      for (const path of ['a/b', 'a?x=1', 'deep/er/path?x=%2F', '']) {
        const url = resolveUnderBase(base, path);
        assert.equal(url.origin, 'https://api.example.com');
        assert.ok(url.pathname.startsWith('/v2/'), url.pathname);
      }
    });
  });

  it('keeps an @ in the path as a path segment on the same host', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/@evil.example/me`);
    assert.equal(((await answer.json()) as { path: string }).path, '/bearer/@evil.example/me');
    assert.equal(elsewhere.hits, 0);
  });

  it('passes encoded slashes in the query through as data', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/echo?next=%2Fhome%2Fx`);
    assert.equal(answer.status, 200);
    assert.deepEqual(((await answer.json()) as { query: Record<string, string> }).query, { next: '/home/x' });
  });

  it('does not follow an upstream redirect to another host: the 302 comes back as it is', async () => {
    const answer = await call(`/v1/connections/${connectionId}/proxy/redirect?to=${encodeURIComponent(`${elsewhere.origin}/steal`)}`);
    assert.equal(answer.status, 302);
    assert.equal(elsewhere.hits, 0, 'the other host was never called');
  });

  it('answers 504 upstream_timeout when the upstream hangs, instead of hanging the request', async () => {
    const started = Date.now();
    const answer = await call(`/v1/connections/${connectionId}/proxy/slow`);
    assert.equal(answer.status, 504);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'upstream_timeout');
    assert.ok(Date.now() - started < 5000, 'answered within the configured timeout, not the client’s');
  });

  it('answers 404 connection_not_found for an unknown connection, and 401 without a key', async () => {
    assert.equal((await call('/v1/connections/con_0000000000000000000000/proxy/me')).status, 404);
    assert.equal((await fetch(`${patchbay.origin}/v1/connections/${connectionId}/proxy/me`)).status, 401);
  });

  it('tests an action: shows status, headers and body, with every secret masked', async () => {
    const answer = await call('/v1/connectors/bearer/actions/echo/test', { method: 'POST', json: { connectionId } });
    assert.equal(answer.status, 200);
    const text = await answer.text();
    assert.ok(!text.includes(STAND_IN.bearer), 'the token appears nowhere in the answer');
    const result = JSON.parse(text) as { status: number; headers: Record<string, string>; body: { headers: Record<string, string>; query: Record<string, string> } };
    assert.equal(result.status, 200);
    assert.equal(result.headers['content-type'], 'application/json');
    assert.equal(result.body.headers.authorization, 'Bearer ••••');
    assert.equal(result.body.query.token, '••••');
  });

  it('refuses to test an action with a connection of another connector, or an unknown action, with 4xx', async () => {
    assert.equal((await call('/v1/connectors/bearer/actions/nope/test', { method: 'POST', json: { connectionId } })).status, 404);
    assert.equal((await call('/v1/connectors/bearer/actions/me/test', { method: 'POST', json: { connectionId: 'con_0000000000000000000000' } })).status, 400);
    assert.equal((await call('/v1/connectors/bearer/actions/me/test', { method: 'POST', json: { connectionId, extra: 1 } })).status, 400);
  });
});
