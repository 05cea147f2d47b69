import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { partnerViewSchema, portalAnswerSchema } from '@patchbay/contract';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { partnerClient } from './support/partners.js';

/** EnSync (seed 002): "Optional app metadata (name, description, color, icon)… Tags and custom metadata for ownership, SLA, and support routing." */
const SEED_BODY = {
  appName: 'Acme Fulfillment',
  appDescription: 'Consumes order events',
  metadata: { color: '#336699', icon: 'https://acme.example/icon.png', tags: ['fulfillment'], owner: 'team-ops', sla: '99.9', support: { channel: '#acme' } },
};

describe('partner metadata: typed, validated on create, editable with PATCH, shown in the portal', () => {
  let patchbay: TestPatchbay;
  let client: ReturnType<typeof partnerClient>;

  before(async () => {
    patchbay = await startPatchbay();
    client = partnerClient(patchbay, await patchbay.accessKey(['partners:write']));
  });

  after(() => patchbay.close());

  const read = async (id: string) => partnerViewSchema.parse(await (await client.asOperator('GET', `/v1/partners/${id}`)).json());
  const refusal = async (answer: Response) => {
    assert.equal(answer.status, 400);
    return ((await answer.json()) as { error: { code: string; message: string } }).error;
  };
  const partnerCount = async () => (await patchbay.patchbay.ctx.store.db.selectFrom('partners').select('id').execute()).length;

  describe('on create (POST /api/v1/external/partner)', () => {
    it('accepts the seed’s call unchanged and keeps the host’s own keys (sla, support) as sent', async () => {
      const answer = await client.asOperator('POST', '/api/v1/external/partner', SEED_BODY);
      assert.equal(answer.status, 201);
      const { data } = (await answer.json()) as { data: { id: string; url: string } };
      assert.deepEqual(Object.keys(data).sort(), ['id', 'url']);
      const partner = await read(data.id);
      assert.deepEqual(partner.metadata, SEED_BODY.metadata);
      assert.deepEqual(partner.tags, ['fulfillment']);
    });

    it('refuses each bad typed field with 400 naming it, and creates nothing', async () => {
      const count = await partnerCount();
      for (const [metadata, field] of [
        [{ color: 'red' }, 'metadata.color'],
        [{ color: '#12345' }, 'metadata.color'],
        [{ icon: 'http://acme.example/icon.png' }, 'metadata.icon'],
        [{ icon: 'javascript:alert(1)' }, 'metadata.icon'],
        [{ icon: 'data:image/png;base64,AAAA' }, 'metadata.icon'],
        [{ tags: 'fulfillment' }, 'metadata.tags'],
        [{ tags: ['x'.repeat(33)] }, 'metadata.tags.0'],
        [{ tags: Array.from({ length: 21 }, (_, index) => `t${index}`) }, 'metadata.tags'],
        [{ owner: 'ops@' }, 'metadata.owner'],
        [{ owner: '' }, 'metadata.owner'],
        [{ owner: 42 }, 'metadata.owner'],
      ] as const) {
        const error = await refusal(await client.asOperator('POST', '/api/v1/external/partner', { appName: 'Bad', metadata }));
        assert.equal(error.code, 'invalid_request');
        assert.ok(error.message.startsWith(`${field}: `), `${JSON.stringify(metadata)} → ${error.message}`);
      }
      assert.equal(await partnerCount(), count);
    });

    it('stores a colour in lower case, tags once each, and accepts an e-mail or a name as owner', async () => {
      const { id } = await client.createPartner({ metadata: { color: '#ABCDEF', tags: ['a', 'b', 'a'], owner: 'Ops@Acme.example' } });
      assert.deepEqual((await read(id)).metadata, { color: '#abcdef', tags: ['a', 'b'], owner: 'Ops@Acme.example' });
    });
  });

  describe('PATCH /v1/partners/{partnerId}', () => {
    it('changes the fields named, merges metadata (null removes a key, others are kept) and answers the partner', async () => {
      const { id } = await client.createPartner(SEED_BODY);
      const answer = await client.asOperator('PATCH', `/v1/partners/${id}`, {
        appName: 'Acme Fulfilment',
        metadata: { color: '#0F766E', owner: 'ops@acme.example', sla: null, region: 'eu' },
      });
      assert.equal(answer.status, 200);
      const updated = partnerViewSchema.parse(await answer.json());
      assert.equal(updated.appName, 'Acme Fulfilment');
      assert.equal(updated.appDescription, SEED_BODY.appDescription, 'a field left out is kept');
      const { sla: _removed, ...kept } = SEED_BODY.metadata;
      assert.deepEqual(updated.metadata, { ...kept, color: '#0f766e', owner: 'ops@acme.example', region: 'eu' });
      assert.deepEqual(await read(id), updated);
    });

    it('refuses a bad field with 400 naming it and leaves the partner exactly as it was', async () => {
      const { id } = await client.createPartner(SEED_BODY);
      const before = await read(id);
      for (const [body, field] of [
        [{ appName: 'Renamed', metadata: { color: 'teal' } }, 'metadata.color'],
        [{ metadata: { icon: 'ftp://acme.example/i.png' } }, 'metadata.icon'],
        [{ metadata: { tags: [1] } }, 'metadata.tags.0'],
        [{ metadata: { notes: 'x'.repeat(5000) } }, 'metadata'],
        [{ appName: '' }, 'appName'],
        [{ status: 'active' }, 'status'],
        [{}, 'at least one field'],
      ] as const) {
        const error = await refusal(await client.asOperator('PATCH', `/v1/partners/${id}`, body));
        assert.match(error.message, new RegExp(field.replace(/\./g, '\\.')), `${JSON.stringify(body).slice(0, 60)} → ${error.message}`);
      }
      assert.deepEqual(await read(id), before, 'nothing half-updated');
      const entries = await patchbay.patchbay.ctx.store.db
        .selectFrom('audit_entries')
        .select('id')
        .where('target_id', '=', id)
        .where('action', '=', 'partner.updated')
        .execute();
      assert.equal(entries.length, 0, 'no audit entry for a refused change');
    });

    it('answers 404 for an unknown partner and needs partners:write', async () => {
      assert.equal((await client.asOperator('PATCH', '/v1/partners/ptn_0000000000000000000000', { appName: 'X' })).status, 404);
      const reader = await patchbay.accessKey(['installs:read']);
      const refused = await fetch(`${patchbay.origin}/v1/partners/ptn_0000000000000000000000`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' },
        body: JSON.stringify({ appName: 'X' }),
      });
      assert.equal(refused.status, 403);
    });
  });

  describe('in the portal', () => {
    it('gives the header the partner’s colour, icon and owner, and none of the host’s own keys', async () => {
      const partner = await client.createPartner(SEED_BODY);
      const answer = await client.portal().call('POST', '/redeem', { code: partner.code });
      const { data } = portalAnswerSchema.parse(await answer.json());
      assert.deepEqual(data.partnerBranding, { color: '#336699', icon: 'https://acme.example/icon.png', owner: 'team-ops' });
      assert.doesNotMatch(JSON.stringify(data), /99\.9|#acme/, 'sla and support routing stay with the host');
    });

    it('shows nothing for a value stored before metadata was typed that does not pass today’s check', async () => {
      const partner = await client.createPartner({ appName: 'Legacy' });
      await patchbay.patchbay.ctx.store.db
        .updateTable('partners')
        .set({ metadata: JSON.stringify({ color: 'blue', icon: 'http://old.example/i.png', owner: 'ops@acme.example' }) })
        .where('id', '=', partner.id)
        .execute();
      const { data } = portalAnswerSchema.parse(await (await client.portal().call('POST', '/redeem', { code: partner.code })).json());
      assert.deepEqual(data.partnerBranding, { color: null, icon: null, owner: 'ops@acme.example' });
    });
  });
});
