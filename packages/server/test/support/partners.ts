import assert from 'node:assert/strict';
import { startPatchbay, type TestPatchbay } from './harness.js';

/** A tiny client for the partner routes, as the host backend, the operator and the partner's browser use them. */
export function partnerClient(patchbay: TestPatchbay, operatorKey: string) {
  const origin = patchbay.origin;
  const json = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${origin}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  const asOperator = (method: string, path: string, body?: unknown) => json(method, path, body, { authorization: `Bearer ${operatorKey}` });

  /** The partner's browser: keeps the portal cookie and sends the portal header on writes. */
  function portal(cookie = '') {
    const call = async (method: string, path: string, body?: unknown) => {
      const answer = await json(method, `/v1/partner-portal${path}`, body, {
        ...(cookie ? { cookie } : {}),
        ...(method === 'GET' ? {} : { 'x-patchbay-portal': '1', origin }),
      });
      const set = answer.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0]!;
      return answer;
    };
    return {
      call,
      get cookie() {
        return cookie;
      },
    };
  }

  async function createPartner(body: Record<string, unknown> = { appName: 'Shipfast' }): Promise<{ id: string; url: string; code: string }> {
    const answer = await asOperator('POST', '/api/v1/external/partner', body);
    assert.equal(answer.status, 201);
    const { data } = (await answer.json()) as { data: { id: string; url: string } };
    return { ...data, code: new URL(data.url).hash.replace('#code=', '') };
  }

  async function grant(partnerId: string, pattern: string, rights: { send?: boolean; receive?: boolean; environment?: string }) {
    const answer = await asOperator('POST', `/v1/partners/${partnerId}/grants`, { pattern, ...rights });
    assert.equal(answer.status, 201);
    return (await answer.json()) as { id: string };
  }

  /** Invites a partner, redeems the link in its "browser" and takes a key for one environment. */
  async function onboard(grants: Array<{ pattern: string; send?: boolean; receive?: boolean }> = [], environment = 'prod') {
    const partner = await createPartner();
    for (const rights of grants) await grant(partner.id, rights.pattern, rights);
    const browser = portal();
    assert.equal((await browser.call('POST', '/redeem', { code: partner.code })).status, 200);
    const created = await browser.call('POST', `/keys/${environment}`, {});
    assert.equal(created.status, 201);
    const { data } = (await created.json()) as { data: { key: string } };
    return { partnerId: partner.id, key: data.key, browser };
  }

  return { asOperator, portal, createPartner, grant, onboard };
}

export type PartnerClient = ReturnType<typeof partnerClient>;

/** A server for a file of partner tests, with an operator key (partners:write and admin) and a client using it. */
export async function startPartnerServer(): Promise<{ patchbay: TestPatchbay; operatorKey: string; client: PartnerClient }> {
  const patchbay = await startPatchbay();
  const operatorKey = await patchbay.accessKey(['partners:write', 'admin']);
  return { patchbay, operatorKey, client: partnerClient(patchbay, operatorKey) };
}

/** The audit trail's actions on a partner, oldest first. */
export async function auditActionsOf(patchbay: TestPatchbay, partnerId: string): Promise<string[]> {
  const rows = await patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').select('action').where('target_id', '=', partnerId).orderBy('id').execute();
  return rows.map((row) => row.action);
}
