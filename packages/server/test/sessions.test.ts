import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decryptCredentials } from '../src/connections/credentials.js';
import { loginAtProvider } from './support/provider-login.js';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';

const HOST_ORIGIN = 'https://app.example.com';

interface Flow {
  id: string;
  token: string;
  startUrl: string;
}

describe('sessions, OAuth and installs', () => {
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
    });
    accessKey = await patchbay.accessKey();
    base = `${patchbay.origin}/v1/integrations/acme-sync`;
  });

  after(async () => {
    await patchbay.close();
    await thirdParty.close();
  });

  const api = (path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}) =>
    fetch(path.startsWith('http') ? path : `${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.auth === null ? {} : { authorization: `Bearer ${init.auth ?? accessKey}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      redirect: 'manual',
    });

  async function newSession(tenantId = 'user2'): Promise<Flow> {
    const response = await api('/session', { method: 'POST', body: { redirectUrl: `${HOST_ORIGIN}/settings`, tags: { 'fusebit.tenantId': tenantId } } });
    assert.equal(response.status, 200);
    return (await response.json()) as Flow;
  }

  async function authorize(flow: Flow, decision: 'allow' | 'deny' = 'allow', mode: 'popup' | 'page' = 'popup') {
    const start = await fetch(`${flow.startUrl}?mode=${mode}&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    assert.equal(start.status, 303, 'start redirects to the provider');
    const authorizeUrl = start.headers.get('location')!;
    const { callbackUrl } = await loginAtProvider(authorizeUrl, `${patchbay.origin}/oauth/callback`, { decision });
    const callback = await fetch(callbackUrl, { redirect: 'manual' });
    return { authorizeUrl, callbackUrl, callback, page: callback.status === 200 ? await callback.text() : '' };
  }

  async function waitForInstall(targetUrl: string, auth?: string) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const install = (await (await api(targetUrl, { auth })).json()) as { id: string; operationState: { status: string } };
      if (install.operationState.status !== 'pending') return install;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('install stayed pending');
  }

  describe('the whole flow', () => {
    it('authorizes with state and PKCE S256, commits idempotently and runs a tenant action with the tenant token', async () => {
      const flow = await newSession();
      assert.match(flow.id, /^ses_[0-9A-Za-z]{22}$/);
      assert.ok(flow.token.startsWith(`${flow.id}_secret_`), 'the session token starts with the session id');
      const { authorizeUrl, page } = await authorize(flow);
      const authorizeRequest = new URL(authorizeUrl);
      assert.equal(authorizeRequest.searchParams.get('code_challenge_method'), 'S256');
      assert.ok((authorizeRequest.searchParams.get('code_challenge') ?? '').length >= 43, 'a PKCE challenge is sent');
      assert.ok((authorizeRequest.searchParams.get('state') ?? '').length >= 22, 'state carries at least 128 bits');
      assert.equal(authorizeRequest.searchParams.get('redirect_uri'), `${patchbay.origin}/oauth/callback`);
      assert.match(page, /name="patchbay-opener-origin" content="https:\/\/app\.example\.com"/, 'the done page targets the exact opener origin');
      assert.match(page, /&quot;status&quot;:&quot;authorized&quot;/);

      const session = (await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as { status: string; tenantId: string };
      assert.equal(session.status, 'authorized');
      assert.equal(session.tenantId, 'user2');

      const commits = await Promise.all([1, 2, 3].map(() => api(`/session/${flow.id}/commit`, { method: 'POST', auth: flow.token })));
      const targets = await Promise.all(commits.map(async (response) => ((await response.json()) as { targetUrl: string }).targetUrl));
      assert.deepEqual(
        commits.map((r) => r.status),
        [200, 200, 200],
      );
      assert.equal(new Set(targets).size, 1, 'three concurrent commits answer one targetUrl');
      const again = (await (await api(`/session/${flow.id}/commit`, { method: 'POST' })).json()) as { targetUrl: string };
      assert.equal(again.targetUrl, targets[0], 'a later commit with the access key answers the same targetUrl');

      const install = await waitForInstall(targets[0]!, flow.token);
      assert.equal(install.operationState.status, 'success');
      const found = (await (await api('/install?tag=fusebit.tenantId=user2')).json()) as { data: Array<{ id: string }>; next: string | null };
      assert.ok(
        found.data.some((item) => item.id === install.id),
        'the install is found by its tenant tag',
      );
      const count = await patchbay.patchbay.ctx.store.db.selectFrom('installs').select('id').where('session_id', '=', flow.id).execute();
      assert.equal(count.length, 1, 'exactly one install exists for the session');

      const invoked = await api('/api/tenant/user2/test', { method: 'POST', body: { tenantId: 'user2', instanceId: install.id } });
      assert.equal(invoked.status, 200);
      const result = (await invoked.json()) as { status: number; body: { ok: boolean; user: string } };
      assert.equal(result.status, 200);
      assert.deepEqual([result.body.ok, result.body.user], [true, 'ada'], 'the upstream API accepted the tenant token');
    });

    it('refuses to replay a callback: the state is one-time', async () => {
      const flow = await newSession('replay-tenant');
      const { callbackUrl } = await authorize(flow);
      const replay = await fetch(callbackUrl, { redirect: 'manual' });
      assert.equal(replay.status, 400);
      assert.match(await replay.text(), /data-code="invalid_state"/);
    });

    it('refuses a callback whose iss names another issuer (RFC 9207 mix-up defence): the session fails, no connection is stored', async () => {
      const flow = await newSession('iss-tenant');
      const start = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      const { callbackUrl } = await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`);
      const mixedUp = new URL(callbackUrl);
      assert.equal(mixedUp.searchParams.get('iss'), thirdParty.issuer, 'the provider names itself in the callback');
      mixedUp.searchParams.set('iss', 'https://attacker.example.com');
      const answer = await fetch(mixedUp, { redirect: 'manual' });
      assert.equal(answer.status, 400);
      assert.match(await answer.text(), /data-code="issuer_mismatch"/);
      const session = (await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as { status: string };
      assert.equal(session.status, 'failed');
      const connections = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('id').where('tenant_id', '=', 'iss-tenant').execute();
      assert.deepEqual(connections, [], 'no connection was stored');
      // The genuine callback cannot be used afterwards either: the state was spent on the refused one.
      assert.equal((await fetch(callbackUrl, { redirect: 'manual' })).status, 400);
    });

    it('redeems a state once under concurrency: of 10 simultaneous callbacks exactly one succeeds, and one connection is stored', async () => {
      const flow = await newSession('race-tenant');
      const start = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      const { callbackUrl } = await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`);
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(callbackUrl, { redirect: 'manual' })));
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [200, ...Array<number>(9).fill(400)], `statuses: ${statuses.join(', ')}`);
      const refused = await Promise.all(answers.filter((answer) => answer.status === 400).map((answer) => answer.text()));
      assert.ok(
        refused.every((page) => /data-code="invalid_state"/.test(page)),
        'every other callback is invalid_state',
      );
      const connections = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('id').where('tenant_id', '=', 'race-tenant').execute();
      assert.equal(connections.length, 1, 'one connection');
    });

    it('refuses a forged state', async () => {
      const response = await fetch(`${patchbay.origin}/oauth/callback?state=forged&code=abc`, { redirect: 'manual' });
      assert.equal(response.status, 400);
      assert.match(await response.text(), /invalid_state/);
    });

    it('marks the session cancelled when the user denies at the provider, and commit is refused', async () => {
      const flow = await newSession('denying-tenant');
      const { page } = await authorize(flow, 'deny');
      assert.match(page, /&quot;status&quot;:&quot;cancelled&quot;/);
      const session = (await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as { status: string; error: { code: string } };
      assert.equal(session.status, 'cancelled');
      assert.equal(session.error.code, 'access_denied');
      const commit = await api(`/session/${flow.id}/commit`, { method: 'POST', auth: flow.token });
      assert.equal(commit.status, 409);
      assert.equal(((await commit.json()) as { error: { code: string } }).error.code, 'session_not_authorized');
    });

    it('lets a reopened popup start again, and only the newest state works', async () => {
      const flow = await newSession('reopen-tenant');
      const first = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      const second = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      const staleState = new URL(first.headers.get('location')!).searchParams.get('state');
      const stale = await fetch(`${patchbay.origin}/oauth/callback?state=${staleState}&code=x`, { redirect: 'manual' });
      assert.equal(stale.status, 400, 'the first popup’s state no longer works');
      const { callbackUrl } = await loginAtProvider(second.headers.get('location')!, `${patchbay.origin}/oauth/callback`);
      assert.equal((await fetch(callbackUrl, { redirect: 'manual' })).status, 200);
    });

    it('redirects to redirectUrl with the session id in page mode', async () => {
      const flow = await newSession('page-tenant');
      const { callback } = await authorize(flow, 'allow', 'page');
      assert.equal(callback.status, 303);
      const location = new URL(callback.headers.get('location')!);
      assert.equal(location.origin + location.pathname, `${HOST_ORIGIN}/settings`);
      assert.equal(location.searchParams.get('session'), flow.id);
      assert.equal(location.searchParams.get('status'), 'authorized');
    });
  });

  describe('open redirects and origins', () => {
    it('serves the widget on an allowed page and nothing to any other page: look-alikes get only the origin refusal', async () => {
      const flow = await newSession('cors-tenant');
      const allowed = await fetch(`${base}/session/${flow.id}`, { headers: { origin: HOST_ORIGIN, authorization: `Bearer ${flow.token}` } });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get('access-control-allow-origin'), HOST_ORIGIN);
      assert.equal(allowed.headers.get('access-control-allow-credentials'), null, 'no cookies: session tokens are bearer');
      for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.com', 'http://app.example.com', 'null']) {
        for (const auth of [flow.token, accessKey]) {
          const read = await fetch(`${base}/session/${flow.id}`, { headers: { origin, authorization: `Bearer ${auth}` } });
          assert.equal(read.status, 403, `${origin} is refused`);
          const body = (await read.json()) as { error: { code: string }; tenantId?: string };
          assert.equal(body.error.code, 'origin_not_allowed');
          assert.equal(body.tenantId, undefined, `no session data reaches ${origin}`);
        }
      }
    });

    const foreign = [
      'https://evil.example.com/settings',
      'https://app.example.com.evil.com/',
      'https://app.example.com@evil.com/',
      'http://app.example.com/settings',
      'https://app.example.com:8443/',
      'javascript:alert(1)',
      '//evil.com/',
      'data:text/html,hi',
    ];
    for (const redirectUrl of foreign) {
      it(`refuses redirectUrl ${redirectUrl}`, async () => {
        const response = await api('/session', { method: 'POST', body: { redirectUrl, tenantId: 't1' } });
        assert.equal(response.status, 400);
        const body = (await response.json()) as { error: { code: string } };
        assert.ok(['redirect_not_allowed', 'invalid_request'].includes(body.error.code), body.error.code);
        const sessions = await patchbay.patchbay.ctx.store.db.selectFrom('sessions').select('id').where('tenant_id', '=', 't1').execute();
        assert.equal(sessions.length, 0, 'nothing was stored');
      });
    }

    it('refuses to start a popup for an opener origin the integration does not allow', async () => {
      const flow = await newSession('origin-tenant');
      const response = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent('https://evil.example.com')}`, { redirect: 'manual' });
      assert.equal(response.status, 400);
      assert.match(await response.text(), /origin_not_allowed/);
    });
  });

  describe('bad input', () => {
    it('answers 404 integration_not_found for an unknown integration', async () => {
      const response = await api(`${patchbay.origin}/v1/integrations/nope/session`, { method: 'POST', body: { tenantId: 'x' } });
      assert.equal(response.status, 404);
      assert.deepEqual(((await response.json()) as { error: { code: string } }).error.code, 'integration_not_found');
    });

    it('answers 400 for invalid JSON, unknown fields and a missing tenant', async () => {
      for (const body of ['{"tenantId":', { tenantId: 'x', extra: 1 }, { tags: {} }]) {
        const response = await api('/session', { method: 'POST', body });
        assert.equal(response.status, 400);
        const answer = (await response.json()) as { error: { code: string; message: string } };
        assert.ok(answer.error.code && answer.error.message);
      }
    });

    it('answers 410 session_expired for an expired session', async () => {
      const flow = await newSession('expired-tenant');
      await patchbay.patchbay.ctx.store.db
        .updateTable('sessions')
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where('id', '=', flow.id)
        .execute();
      const response = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
      assert.equal(response.status, 410);
      assert.match(await response.text(), /session_expired/);
    });

    it('answers 401 invalid_credentials for a malformed key and records the attempt', async () => {
      const response = await api('/session', { method: 'POST', body: { tenantId: 'x' }, auth: 'pbk_not-a-key' });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'invalid_credentials');
      await patchbay.patchbay.ctx.authEvents.flush();
      const events = await patchbay.patchbay.ctx.store.db.selectFrom('auth_events').selectAll().where('reason', '=', 'invalid_credentials').execute();
      assert.ok(events.length >= 1);
    });

    it('keeps a session token to its own session, and records each attempt as one auth event with its reason', async () => {
      const mine = await newSession('token-a');
      const theirs = await newSession('token-b');
      const own = await api(`/session/${mine.id}`, { auth: mine.token });
      assert.equal(own.status, 200);
      const response = await api(`/session/${theirs.id}`, { auth: mine.token });
      assert.equal(response.status, 403);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'session_forbidden');
      const forged = await api(`/session/${mine.id}`, { auth: `${mine.id}_secret_AAAAAAAAAAAAAAAAAAAAAA` });
      assert.equal(forged.status, 401);

      await patchbay.patchbay.ctx.authEvents.flush();
      const events = await patchbay.patchbay.ctx.store.db
        .selectFrom('auth_events')
        .select(['key_id', 'key_prefix', 'path', 'outcome', 'reason'])
        .where('path', 'in', [`/v1/integrations/acme-sync/session/${mine.id}`, `/v1/integrations/acme-sync/session/${theirs.id}`])
        .execute();
      // Sorted by reason: a success is recorded when its answer closes, so the order may vary.
      const byReason = (a: { reason: string | null }, b: { reason: string | null }) => String(a.reason).localeCompare(String(b.reason));
      assert.deepEqual(events.sort(byReason), [
        { key_id: null, key_prefix: null, path: `/v1/integrations/acme-sync/session/${mine.id}`, outcome: 'failure', reason: 'invalid_credentials' },
        { key_id: mine.id, key_prefix: 'ses_', path: `/v1/integrations/acme-sync/session/${mine.id}`, outcome: 'success', reason: null },
        { key_id: mine.id, key_prefix: 'ses_', path: `/v1/integrations/acme-sync/session/${theirs.id}`, outcome: 'failure', reason: 'session_forbidden' },
      ]);
    });

    it('answers 404 for an action the integration does not declare, and for a tenant without an install', async () => {
      assert.equal((await api('/api/tenant/user2/nope', { method: 'POST', body: {} })).status, 404);
      assert.equal((await api('/api/tenant/nobody/test', { method: 'POST', body: {} })).status, 404);
    });
  });

  describe('secrets', () => {
    it('never shows an access key, session token, OAuth token, code, state or client secret in logs or answers', async () => {
      const flow = await newSession('secret-tenant');
      const { callbackUrl } = await authorize(flow);
      const { targetUrl } = (await (await api(`/session/${flow.id}/commit`, { method: 'POST', auth: flow.token })).json()) as { targetUrl: string };
      const install = await waitForInstall(targetUrl);
      const callback = new URL(callbackUrl);
      const connection = await patchbay.patchbay.ctx.store.db
        .selectFrom('connections')
        .selectAll()
        .where('tenant_id', '=', 'secret-tenant')
        .executeTakeFirstOrThrow();
      const credentials = decryptCredentials(patchbay.patchbay.ctx, connection);
      assert.equal(credentials.type, 'oauth2');
      const { tokens } = credentials as Extract<typeof credentials, { type: 'oauth2' }>;
      assert.ok(tokens.accessToken && tokens.refreshToken, 'the provider issued access and refresh tokens');
      const answers = [
        JSON.stringify(install),
        await (await api(targetUrl)).text(),
        await (await api(`${patchbay.origin}/v1/connectors`)).text(),
        await (await api(`${patchbay.origin}/v1/integrations`)).text(),
        await (await api(`/session/${flow.id}`, { auth: flow.token })).text(),
      ].join('\n');
      const secrets = [
        accessKey,
        flow.token,
        callback.searchParams.get('code')!,
        callback.searchParams.get('state')!,
        thirdParty.clientSecret,
        tokens.accessToken,
        tokens.refreshToken,
      ];
      for (const secret of secrets) {
        assert.ok(!patchbay.logs.text.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in the logs`);
        assert.ok(!answers.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in an answer`);
      }
      assert.ok(connection.credentials_ciphertext.startsWith('v1.test.'), 'credentials are stored as an envelope with the key id');
      const everyRow = JSON.stringify(await patchbay.patchbay.ctx.store.db.selectFrom('connections').selectAll().execute());
      assert.ok(!everyRow.includes(tokens.accessToken) && !everyRow.includes(tokens.refreshToken), 'no token is stored in clear');
      assert.ok(patchbay.logs.lines.length > 10, 'the logs were captured');
    });
  });
});
