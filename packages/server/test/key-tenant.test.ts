import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { apiClient, assertError, type Api, createKeyOverHttp, type KeyView } from './support/keys.js';

/** Fuuz (seed 004): a key's tenant "Cannot change after creation"; roll or create a new key instead. */
describe('a key’s tenant is fixed once set', () => {
  let patchbay: TestPatchbay;
  let api: Api;
  let admin: string;

  before(async () => {
    patchbay = await startPatchbay();
    api = apiClient(patchbay);
    admin = await patchbay.accessKey(['admin']);
  });

  after(() => patchbay.close());

  const auditCount = async (id: string) =>
    (await patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').select('id').where('target_id', '=', id).where('action', '=', 'key.updated').execute())
      .length;

  it('refuses another tenant, or none, with 400 tenant_immutable saying to roll or create a key, and changes nothing', async () => {
    const { record } = await createKeyOverHttp(api, admin, { name: 'tenant-fixed', scopes: ['installs:read'], tenantId: 'acme' });
    for (const tenantId of ['globex', null]) {
      const { error } = assertError(
        await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { tenantId, description: 'half' } }),
        400,
        'tenant_immutable',
        String(tenantId),
      );
      assert.match(error.message, /^tenantId: /, 'names the field');
      assert.match(error.message, /new key/);
      assert.match(error.message, /roll/);
    }
    const after = (await api(`/v1/keys/${record.id}`, { auth: admin })).json as KeyView;
    assert.deepEqual([after.tenantId, after.description], ['acme', record.description], 'not half-updated: the description stayed too');
    assert.equal(await auditCount(record.id), 0, 'no audit entry for a refused change');
  });

  it('accepts the same tenant again as no change', async () => {
    const { record } = await createKeyOverHttp(api, admin, { name: 'tenant-same', scopes: ['installs:read'], tenantId: 'acme' });
    const answer = await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { tenantId: 'acme', description: 'noted' } });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual([(answer.json as KeyView).tenantId, (answer.json as KeyView).description], ['acme', 'noted']);
  });

  it('lets a key made without a tenant be narrowed to one, once (it only takes reach away), and then fixes it', async () => {
    const { record } = await createKeyOverHttp(api, admin, { name: 'tenant-later', scopes: ['installs:read'] });
    assert.equal(record.tenantId, null);
    const narrowed = await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { tenantId: 'initech' } });
    assert.equal(narrowed.status, 200, narrowed.text);
    assert.equal((narrowed.json as KeyView).tenantId, 'initech');
    assertError(await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { tenantId: 'acme' } }), 400, 'tenant_immutable');
    assertError(await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { tenantId: null } }), 400, 'tenant_immutable');
  });

  it('keeps the tenant through a roll: the successor belongs to the same tenant', async () => {
    const { record } = await createKeyOverHttp(api, admin, { name: 'tenant-roll', scopes: ['installs:read'], tenantId: 'acme' });
    const rolled = await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 0 } });
    assert.equal(rolled.status, 201);
    assert.equal((rolled.json as KeyView).tenantId, 'acme');
  });
});
