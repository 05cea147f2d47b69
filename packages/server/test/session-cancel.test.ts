import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loginAtProvider } from './support/provider-login.js';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';

const HOST_ORIGIN = 'https://app.example.com';

interface Flow {
  id: string;
  token: string;
  startUrl: string;
}

interface View {
  id: string;
  status: string;
  error: { code: string; message: string } | null;
  installId: string | null;
  connector: string | null;
}

/**
 * POST {integrationBaseUrl}/session/{id}/cancel: the widget's Cancel choice. The server decides, in
 * one conditional UPDATE, whether the person's sign-in or the cancel came first.
 */
describe('cancelling a session', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let accessKey: string;
  let base: string;

  before(async () => {
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
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

  const api = (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) =>
    fetch(path.startsWith('http') ? path : `${base}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.auth ?? accessKey}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: 'manual',
    });
  const cancel = (flow: Flow, auth = flow.token) => api(`/session/${flow.id}/cancel`, { method: 'POST', auth });
  const codeOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

  async function newSession(tenantId: string): Promise<Flow> {
    const response = await api('/session', { method: 'POST', body: { tenantId } });
    assert.equal(response.status, 200);
    return (await response.json()) as Flow;
  }

  /** Starts the sign-in and signs in at the provider, stopping before the callback reaches Patchbay. */
  async function signInUpToCallback(flow: Flow): Promise<string> {
    const start = await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    assert.equal(start.status, 303);
    return (await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`)).callbackUrl;
  }

  it('moves a started session to cancelled with the reason user_cancelled, answers the session view, and repeats the same answer', async () => {
    const flow = await newSession('cancel-own');
    await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    const first = await cancel(flow);
    assert.equal(first.status, 200);
    const view = (await first.json()) as View;
    assert.equal(view.id, flow.id);
    assert.equal(view.status, 'cancelled');
    assert.equal(view.error?.code, 'user_cancelled');
    const again = await cancel(flow);
    assert.equal(again.status, 200, 'cancelling a cancelled session is not an error');
    assert.deepEqual(await again.json(), view, 'the same state, unchanged');
    const commit = await api(`/session/${flow.id}/commit`, { method: 'POST', auth: flow.token });
    assert.equal(commit.status, 409, 'a cancelled session cannot be committed');
  });

  it('cancels a session that was never started (created)', async () => {
    const flow = await newSession('cancel-created');
    const response = await cancel(flow);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as View).status, 'cancelled');
  });

  it('keeps a session token to its own session (403 session_forbidden); an access key needs sessions:write and the tenant', async () => {
    const mine = await newSession('cancel-a');
    const theirs = await newSession('cancel-b');
    const forbidden = await cancel(theirs, mine.token);
    assert.equal(forbidden.status, 403);
    assert.equal(await codeOf(forbidden), 'session_forbidden');
    const readOnly = await cancel(theirs, await patchbay.accessKey(['installs:read']));
    assert.equal(readOnly.status, 403);
    assert.equal(await codeOf(readOnly), 'insufficient_scope');
    const otherTenant = await cancel(theirs, await patchbay.accessKey(['sessions:write'], { tenantId: 'cancel-a' }));
    assert.equal(otherTenant.status, 403);
    assert.equal(await codeOf(otherTenant), 'tenant_forbidden');
    const status = ((await (await api(`/session/${theirs.id}`)).json()) as View).status;
    assert.equal(status, 'created', 'no refused cancel changed the session');
    const byBackend = await cancel(theirs, accessKey);
    assert.equal(byBackend.status, 200, 'the host backend may cancel with its access key');
    assert.equal(((await byBackend.json()) as View).status, 'cancelled');
  });

  it('answers 409 session_not_cancellable once the provider callback has authorized the session, which stays authorized and commits', async () => {
    const flow = await newSession('cancel-late');
    const callbackUrl = await signInUpToCallback(flow);
    assert.equal((await fetch(callbackUrl, { redirect: 'manual' })).status, 200);
    const refused = await cancel(flow);
    assert.equal(refused.status, 409);
    assert.equal(await codeOf(refused), 'session_not_cancellable');
    assert.equal(((await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as View).status, 'authorized');
    assert.equal((await api(`/session/${flow.id}/commit`, { method: 'POST', auth: flow.token })).status, 200);
  });

  it('answers 409 while a callback is exchanging its code (state consumed, session still started): the sign-in wins', async () => {
    const flow = await newSession('cancel-racing');
    await fetch(`${flow.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    // What completeAuthorization leaves between consuming the state and recording the outcome.
    await patchbay.patchbay.ctx.store.db.updateTable('sessions').set({ oauth_state_hash: null }).where('id', '=', flow.id).execute();
    const refused = await cancel(flow);
    assert.equal(refused.status, 409);
    assert.equal(await codeOf(refused), 'session_not_cancellable');
  });

  it('refuses the provider callback after a cancel: nothing is authorized and no connection is stored', async () => {
    const flow = await newSession('cancel-then-callback');
    const callbackUrl = await signInUpToCallback(flow);
    assert.equal((await cancel(flow)).status, 200);
    const callback = await fetch(callbackUrl, { redirect: 'manual' });
    assert.equal(callback.status, 409);
    assert.match(await callback.text(), /data-code="session_cancelled"/);
    const view = (await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as View;
    assert.equal(view.status, 'cancelled');
    assert.equal(view.error?.code, 'user_cancelled');
    const connections = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('id').where('tenant_id', '=', 'cancel-then-callback').execute();
    assert.deepEqual(connections, [], 'the late sign-in stored nothing');
  });

  it('decides a cancel racing the callback one way only: authorized with a connection, or cancelled with none', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, async (_, n) => {
        const flow = await newSession(`cancel-race-${n}`);
        const callbackUrl = await signInUpToCallback(flow);
        const [callback, cancelled] = await Promise.all([fetch(callbackUrl, { redirect: 'manual' }), cancel(flow)]);
        const view = (await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as View;
        const connections = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('id').where('tenant_id', '=', `cancel-race-${n}`).execute();
        return { callback: callback.status, cancel: cancelled.status, status: view.status, connections: connections.length };
      }),
    );
    for (const outcome of outcomes) {
      const signedIn = { callback: 200, cancel: 409, status: 'authorized', connections: 1 };
      const cancelledFirst = { callback: 409, cancel: 200, status: 'cancelled', connections: 0 };
      assert.ok(
        [signedIn, cancelledFirst].some((expected) => JSON.stringify(expected) === JSON.stringify(outcome)),
        `one consistent winner: ${JSON.stringify(outcome)}`,
      );
    }
  });

  it('lets a later click start the cancelled session again, and that sign-in authorizes it', async () => {
    const flow = await newSession('cancel-restart');
    await signInUpToCallback(flow);
    assert.equal((await cancel(flow)).status, 200);
    const callbackUrl = await signInUpToCallback(flow);
    assert.equal((await fetch(callbackUrl, { redirect: 'manual' })).status, 200);
    const view = (await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as View;
    assert.equal(view.status, 'authorized');
    assert.equal(view.error, null, 'the new start cleared the old reason');
  });

  it('reports an expired session as expired, and cancelling it answers 410 session_expired', async () => {
    const flow = await newSession('cancel-expired');
    await patchbay.patchbay.ctx.store.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', flow.id)
      .execute();
    assert.equal(((await (await api(`/session/${flow.id}`, { auth: flow.token })).json()) as View).status, 'expired');
    const response = await cancel(flow);
    assert.equal(response.status, 410);
    assert.equal(await codeOf(response), 'session_expired');
  });

  it('answers 400 for a malformed session id and 404 for an unknown one, with the error shape', async () => {
    const malformed = await api('/session/ses_nope/cancel', { method: 'POST' });
    assert.equal(malformed.status, 400);
    const unknown = await api(`/session/ses_${'A'.repeat(22)}/cancel`, { method: 'POST' });
    assert.equal(unknown.status, 404);
    assert.equal(await codeOf(unknown), 'session_not_found');
  });
});
