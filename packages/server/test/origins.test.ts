import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';

const ORIGIN_A = 'https://app-a.example.com';
const ORIGIN_B = 'https://app-b.example.com';
const UNLISTED = 'https://elsewhere.example.net';

interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * The integration API answers any page's CORS request (bearer tokens, never cookies) and enforces
 * each integration's own `allowedOrigins` in the request path, with a refusal a developer can act on.
 */
describe('integration origins', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let accessKey: string;
  const baseOf = (integrationId: string) => `${patchbay.origin}/v1/integrations/${integrationId}`;

  before(async () => {
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        const declarations = oauthDeclarations(thirdParty, { allowedOrigins: [ORIGIN_A] });
        const [integrationA] = declarations.integrations;
        return { ...declarations, integrations: [integrationA!, { ...integrationA!, id: 'acme-b', allowedOrigins: [ORIGIN_B] }] };
      },
    });
    accessKey = await patchbay.accessKey();
  });

  after(async () => {
    await patchbay?.close();
    await thirdParty?.close();
  });

  /** A session opened by the backend: no `Origin` header, as from a server. */
  async function newSession(integrationId: string, tenantId: string) {
    const response = await fetch(`${baseOf(integrationId)}/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId }),
    });
    assert.equal(response.status, 200, 'a backend call without Origin is not affected');
    return (await response.json()) as { id: string; token: string; startUrl: string };
  }

  const fromPage = (origin: string, url: string, token: string, method = 'GET') =>
    fetch(url, { method, headers: { origin, authorization: `Bearer ${token}` }, redirect: 'manual' });

  it('answers the preflight of any origin for itself only: no credentials, Vary: Origin, the widget’s methods and headers', async () => {
    for (const origin of [ORIGIN_A, UNLISTED, 'http://127.0.0.1:9', 'null']) {
      const preflight = await fetch(`${baseOf('acme-sync')}/session/ses_x/commit`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      assert.equal(preflight.status, 204, origin);
      assert.equal(preflight.headers.get('access-control-allow-origin'), origin, 'the page’s own origin, never *');
      assert.equal(preflight.headers.get('access-control-allow-credentials'), null, 'no cookies: session tokens are bearer');
      assert.match(preflight.headers.get('vary') ?? '', /origin/i);
      assert.deepEqual((preflight.headers.get('access-control-allow-methods') ?? '').split(','), ['GET', 'POST', 'DELETE']);
      assert.deepEqual((preflight.headers.get('access-control-allow-headers') ?? '').split(','), ['authorization', 'content-type']);
    }
  });

  it('refuses a page on an unlisted origin with a readable 403 that names its origin and the setting, and records the attempt', async () => {
    const session = await newSession('acme-sync', 'origin-unlisted');
    for (const [method, path] of [
      ['GET', `/session/${session.id}`],
      ['GET', `/session/${session.id}/connectors`],
      ['POST', `/session/${session.id}/commit`],
    ] as const) {
      const response = await fromPage(UNLISTED, `${baseOf('acme-sync')}${path}`, session.token, method);
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(response.headers.get('access-control-allow-origin'), UNLISTED, 'the page can read why it was refused');
      const body = (await response.json()) as ErrorBody;
      assert.equal(body.error.code, 'origin_not_allowed');
      assert.ok(body.error.message.includes(UNLISTED), `names the page's origin: ${body.error.message}`);
      assert.match(body.error.message, /allowedOrigins/, 'names the setting');
      assert.match(body.error.message, /config file/, 'says where the setting lives');
      assert.ok(!body.error.message.includes(session.token.split('_secret_')[1]!), 'no secret in the message');
    }
    const state = await fetch(`${baseOf('acme-sync')}/session/${session.id}`, { headers: { authorization: `Bearer ${accessKey}` } });
    assert.equal(((await state.json()) as { status: string }).status, 'created', 'the refused commit changed nothing');

    await patchbay.patchbay.ctx.authEvents.flush();
    const events = await patchbay.patchbay.ctx.store.db
      .selectFrom('auth_events')
      .select(['key_id', 'path', 'outcome', 'reason'])
      .where('path', '=', `/v1/integrations/acme-sync/session/${session.id}/commit`)
      .execute();
    assert.deepEqual(events, [
      { key_id: null, path: `/v1/integrations/acme-sync/session/${session.id}/commit`, outcome: 'failure', reason: 'origin_not_allowed' },
    ]);
  });

  it('lets the page on an allowed origin read its session, and nothing else differs', async () => {
    const session = await newSession('acme-sync', 'origin-allowed');
    const response = await fromPage(ORIGIN_A, `${baseOf('acme-sync')}/session/${session.id}`, session.token);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), ORIGIN_A);
    assert.equal(((await response.json()) as { id: string }).id, session.id);
  });

  it('keeps each integration’s origins to that integration: A’s page gets nothing from B, B’s page nothing from A', async () => {
    const sessionB = await newSession('acme-b', 'origin-cross');
    const fromA = await fromPage(ORIGIN_A, `${baseOf('acme-b')}/session/${sessionB.id}`, sessionB.token);
    assert.equal(fromA.status, 403);
    assert.equal(((await fromA.json()) as ErrorBody).error.code, 'origin_not_allowed');
    const fromB = await fromPage(ORIGIN_B, `${baseOf('acme-b')}/session/${sessionB.id}`, sessionB.token);
    assert.equal(fromB.status, 200, 'B’s own page is served');

    const sessionA = await newSession('acme-sync', 'origin-cross');
    const bOnA = await fromPage(ORIGIN_B, `${baseOf('acme-sync')}/session/${sessionA.id}`, sessionA.token);
    assert.equal(bOnA.status, 403);
    assert.equal(((await bOnA.json()) as ErrorBody).error.code, 'origin_not_allowed');
  });

  it('leaves backend calls with an access key, the server’s own pages and the hosted flow’s navigations alone', async () => {
    const session = await newSession('acme-b', 'origin-backend');
    const backend = await fetch(`${baseOf('acme-b')}/session/${session.id}`, { headers: { authorization: `Bearer ${accessKey}` } });
    assert.equal(backend.status, 200, 'no Origin: a backend');
    const ownPage = await fromPage(patchbay.origin, `${baseOf('acme-b')}/session/${session.id}`, session.token);
    assert.equal(ownPage.status, 200, 'the server’s own origin: CORS never applied to it');
    // The popup's pages send no referrer, so their form posts arrive with `Origin: null` and no bearer.
    const start = await fetch(`${session.startUrl}?mode=popup&origin=${encodeURIComponent(ORIGIN_B)}`, { headers: { origin: 'null' }, redirect: 'manual' });
    assert.equal(start.status, 303, 'the sign-in still starts');
  });

  it('answers an unknown integration 404 for every origin, not an origin refusal', async () => {
    const session = await newSession('acme-sync', 'origin-unknown');
    const response = await fromPage(UNLISTED, `${baseOf('no-such-integration')}/session/${session.id}`, accessKey);
    assert.equal(response.status, 404);
    assert.notEqual(((await response.json()) as ErrorBody).error.code, 'origin_not_allowed');
    assert.equal(response.headers.get('access-control-allow-origin'), UNLISTED);
  });
});
