import assert from 'node:assert/strict';
import type { Declarations } from '../../src/index.js';
import { waitFor } from './keys.js';
import { STAND_IN, type StandInApi } from './stand-in-api.js';

export const FLOW_HOST_ORIGIN = 'https://app.example.com';

/**
 * One bearer connector on the stand-in API and one integration whose `echo` action forwards the
 * caller's body, so a tenant action reaches the third party with what the host sent.
 */
export function echoDeclarations(api: StandInApi): Declarations {
  return {
    connectors: [
      {
        slug: 'bearer',
        name: 'Bearer',
        description: '',
        baseUrl: `${api.origin}/bearer`,
        visibility: 'shared',
        authMethods: [{ type: 'bearer' }],
        actions: { me: { method: 'GET', path: '/me', query: {} } },
      },
    ],
    integrations: [
      {
        id: 'echo-sync',
        name: 'Echo sync',
        description: '',
        connectors: ['bearer'],
        allowedOrigins: [FLOW_HOST_ORIGIN],
        configFields: [],
        actions: { echo: { connector: 'bearer', method: 'POST', path: '/echo', forwardBody: true } },
      },
    ],
  } as unknown as Declarations;
}

/**
 * The whole hosted form flow over HTTP (session, credential form, commit, install) for one tenant
 * of `echo-sync` (or the given integration); answers the session's token and the install's id once the install succeeded.
 */
export async function installEchoForTenant(
  origin: string,
  accessKey: string,
  tenantId: string,
  /** Another integration and bearer connector on the stand-in API (one made through the API, say). */
  { integrationId = 'echo-sync', connector = 'bearer' }: { integrationId?: string; connector?: string } = {},
): Promise<{ sessionToken: string; installId: string }> {
  const base = `${origin}/v1/integrations/${integrationId}`;
  const headers = { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' };
  const created = await fetch(`${base}/session`, { method: 'POST', headers, body: JSON.stringify({ tenantId, connector }) });
  assert.equal(created.status, 200, await created.clone().text());
  const session = (await created.json()) as { id: string; token: string };
  const start = await fetch(`${base}/session/${session.id}/start?mode=popup&origin=${encodeURIComponent(FLOW_HOST_ORIGIN)}`, { redirect: 'manual' });
  assert.equal(start.status, 200, 'the credential form');
  const submitted = await fetch(`${base}/session/${session.id}/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: STAND_IN.bearer }).toString(),
  });
  assert.equal(submitted.status, 200, 'the credentials were accepted');
  const committed = await fetch(`${base}/session/${session.id}/commit`, { method: 'POST', headers });
  assert.equal(committed.status, 200);
  const { targetUrl } = (await committed.json()) as { targetUrl: string };
  const installId = await waitFor('the install to finish', async () => {
    const install = (await (await fetch(targetUrl, { headers })).json()) as { id: string; operationState: { status: string } };
    return install.operationState.status === 'pending' ? undefined : install.id;
  });
  return { sessionToken: session.token, installId };
}
