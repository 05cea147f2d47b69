import assert from 'node:assert/strict';
import type { Declarations } from '../../src/index.js';
import type { AuditEntriesTable } from '../../src/store/schema.js';
import { oauthDeclarations, type TestPatchbay, type ThirdParty } from './harness.js';
import { echoDeclarations, FLOW_HOST_ORIGIN } from './install-flow.js';
import type { StandInApi } from './stand-in-api.js';

/** Two integrations on one server: `acme-sync` (OAuth against oidc-provider) and `echo-sync` (a bearer form). */
export function auditDeclarations(thirdParty: ThirdParty, standIn: StandInApi): Declarations {
  const oauth = oauthDeclarations(thirdParty, { allowedOrigins: [FLOW_HOST_ORIGIN] });
  const echo = echoDeclarations(standIn);
  return { connectors: [...oauth.connectors, ...echo.connectors], integrations: [...oauth.integrations, ...echo.integrations] };
}

/** Every audit row as stored, oldest first. */
export async function auditRows(patchbay: TestPatchbay): Promise<AuditEntriesTable[]> {
  return patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').selectAll().orderBy('id').execute();
}

/** The one entry for `action` on `targetId`; fails when there is none or several. */
export async function entryFor(patchbay: TestPatchbay, action: string, targetId: string): Promise<AuditEntriesTable & { parsed: Record<string, unknown> }> {
  const rows = (await auditRows(patchbay)).filter((row) => row.action === action && row.target_id === targetId);
  assert.equal(rows.length, 1, `one ${action} entry for ${targetId}, found ${rows.length}`);
  return { ...rows[0]!, parsed: JSON.parse(rows[0]!.details) as Record<string, unknown> };
}

/** A small client for the hosted flow and the host's calls, over HTTP as the browser and the host backend make them. */
export function flowClient(patchbay: TestPatchbay) {
  const call = (method: string, path: string, auth: string | null, body?: unknown) =>
    fetch(`${patchbay.origin}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });

  async function createSession(key: string, integration: string, body: Record<string, unknown>) {
    const answer = await call('POST', `/v1/integrations/${integration}/session`, key, body);
    assert.equal(answer.status, 200, await answer.clone().text());
    return (await answer.json()) as { id: string; token: string; startUrl: string };
  }

  const start = (session: { startUrl: string }) =>
    fetch(`${session.startUrl}?mode=popup&origin=${encodeURIComponent(FLOW_HOST_ORIGIN)}`, { redirect: 'manual' });

  /** The bearer form of `echo-sync`: start, then the token typed in. */
  async function signInWithBearer(session: { id: string; startUrl: string }, token: string) {
    assert.equal((await start(session)).status, 200, 'the credential form');
    const submitted = await fetch(`${patchbay.origin}/v1/integrations/echo-sync/session/${session.id}/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(submitted.status, 200, 'the credentials were accepted');
  }

  async function commit(integration: string, sessionId: string, auth: string): Promise<string> {
    const answer = await call('POST', `/v1/integrations/${integration}/session/${sessionId}/commit`, auth);
    assert.equal(answer.status, 200, await answer.clone().text());
    const { targetUrl } = (await answer.json()) as { targetUrl: string };
    return new URL(targetUrl).pathname.split('/').pop()!;
  }

  return { call, createSession, start, signInWithBearer, commit };
}
