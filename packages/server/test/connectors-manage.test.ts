import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection } from '../src/connections/service.js';
import { assertRefused, bearerConnector, type CatalogCall, catalogClient, echoIntegration } from './support/catalog.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations } from './support/install-flow.js';
import { STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

interface MethodView {
  type: string;
  default?: boolean;
  hasClientSecret?: boolean;
}

const FIRST_SECRET = 'first-client-secret-canary-1111';
const SECOND_SECRET = 'second-client-secret-canary-2222';

describe('connectors changed and deleted over HTTP (PATCH/DELETE /v1/connectors/:slug)', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let call: CatalogCall;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay({ declarations: echoDeclarations(api) });
    call = catalogClient(patchbay.origin, await patchbay.accessKey(['connectors:read', 'connectors:write']));
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  async function createConnector(extra: Record<string, unknown>): Promise<string> {
    const answer = await call('/v1/connectors', { json: bearerConnector(api, extra) });
    assert.equal(answer.status, 201, answer.text);
    return answer.body.slug as string;
  }

  const connect = (connector: string, tenantId: string, credentials: Parameters<typeof createConnection>[1]['credentials']) =>
    createConnection(patchbay.patchbay.ctx, { connector, tenantId, credentials });

  const statusOf = async (id: string) =>
    (await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  const auditOf = (targetId: string) =>
    patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').selectAll().where('target_id', '=', targetId).orderBy('id').execute();

  it('changes every field but the slug, answers the new connector and audits the changed fields before/after', async () => {
    const slug = await createConnector({ name: 'Editable' });
    const answer = await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { name: 'Edited', description: 'Now described', visibility: 'public' } });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.slug, slug);
    assert.equal(answer.body.name, 'Edited');
    assert.equal(answer.body.visibility, 'shared', '"public" is stored as shared');
    assert.equal(answer.body.source, 'api');
    assert.deepEqual((await call(`/v1/connectors/${slug}`)).body, answer.body);
    assertRefused(await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { slug: 'other' } }), 400, 'invalid_request', /slug/);
    const updated = (await auditOf(slug)).find((entry) => entry.action === 'connector.updated');
    const { changes } = JSON.parse(updated!.details) as { changes: Record<string, { before: unknown; after: unknown }> };
    assert.deepEqual(changes, { name: { before: 'Editable', after: 'Edited' }, description: { before: '', after: 'Now described' } });
  });

  it('moves the connections of a removed auth method to needs_reauth in the same change, leaving the others working', async () => {
    const slug = await createConnector({ name: 'Two methods', authMethods: [{ type: 'bearer', default: true }, { type: 'basic' }] });
    const viaBearer = await connect(slug, 'tenant-a', { type: 'bearer', token: STAND_IN.bearer });
    const viaBasic = await connect(slug, 'tenant-b', { type: 'basic', ...STAND_IN.basic });
    const answer = await call(`/v1/connectors/${slug}`, {
      method: 'PATCH',
      json: {
        authMethods: [
          { type: 'basic', default: true },
          { type: 'apiKey', name: 'X-Api-Key' },
        ],
      },
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(
      (answer.body.authMethods as MethodView[]).map((method) => [method.type, method.default]),
      [
        ['basic', true],
        ['apiKey', false],
      ],
    );
    assert.equal(await statusOf(viaBearer), 'needs_reauth');
    assert.equal(await statusOf(viaBasic), 'active');
    const updated = (await auditOf(slug)).find((entry) => entry.action === 'connector.updated');
    assert.equal((JSON.parse(updated!.details) as { needsReauth: number }).needsReauth, 1);
  });

  it('keeps the current default when a change names none, and refuses (400) one that removes the default without naming another', async () => {
    const slug = await createConnector({ name: 'Default kept', authMethods: [{ type: 'bearer' }, { type: 'basic', default: true }] });
    const kept = await call(`/v1/connectors/${slug}`, {
      method: 'PATCH',
      json: { authMethods: [{ type: 'bearer' }, { type: 'basic' }, { type: 'apiKey', name: 'K' }] },
    });
    assert.deepEqual(
      (kept.body.authMethods as MethodView[]).filter((method) => method.default).map((method) => method.type),
      ['basic'],
    );
    const connection = await connect(slug, 'tenant-c', { type: 'basic', ...STAND_IN.basic });
    assertRefused(
      await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { name: 'Half', authMethods: [{ type: 'bearer' }] } }),
      400,
      'invalid_request',
      /^authMethods: .*removes the default method \(basic\).*"default": true/,
    );
    assertRefused(await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { authMethods: [] } }), 400, 'invalid_request', /^authMethods: /);
    const read = await call(`/v1/connectors/${slug}`);
    assert.equal(read.body.name, 'Default kept', 'nothing was half-updated');
    assert.equal((read.body.authMethods as MethodView[]).length, 3);
    assert.equal(await statusOf(connection), 'active');
  });

  it('replaces an oauth2 client secret without ever echoing it, keeps it when a change sends none, and audits no secret', async () => {
    const oauth = { type: 'oauth2', authorizationUrl: 'https://id.example.com/a', tokenUrl: 'https://id.example.com/t', clientId: 'c' };
    const slug = await createConnector({ name: 'OAuth secret', authMethods: [{ ...oauth, clientSecret: FIRST_SECRET }] });
    const renamed = await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { name: 'OAuth renamed', authMethods: [{ ...oauth, scopes: ['read'] }] } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal((renamed.body.authMethods as MethodView[])[0]!.hasClientSecret, true);
    assert.equal(await patchbay.patchbay.ctx.catalog.clientSecret(slug), FIRST_SECRET, 'a change without a secret keeps it');
    const replaced = await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { authMethods: [{ ...oauth, clientSecret: SECOND_SECRET }] } });
    assert.equal(replaced.status, 200, replaced.text);
    assert.ok(!replaced.text.includes(SECOND_SECRET) && !replaced.text.includes(FIRST_SECRET), 'the answer shows no secret');
    assert.equal(await patchbay.patchbay.ctx.catalog.clientSecret(slug), SECOND_SECRET);
    assertRefused(
      await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { authMethods: [{ ...oauth, clientSecret: { env: 'X' } }] } }),
      400,
      'invalid_request',
      /^authMethods\.0\.clientSecret: /,
    );
    const audit = JSON.stringify(await patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').selectAll().execute());
    assert.ok(!audit.includes(FIRST_SECRET) && !audit.includes(SECOND_SECRET), 'no audit entry holds a client secret');
    assert.match(audit, /clientSecretReplaced/);
  });

  it('refuses to make private a connector an integration offers (400 naming visibility)', async () => {
    const slug = await createConnector({ name: 'Offered' });
    const integration = await call('/v1/integrations', { json: echoIntegration(slug, { name: 'Offers it' }) });
    assert.equal(integration.status, 201, integration.text);
    assertRefused(
      await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { visibility: 'private' } }),
      400,
      'invalid_request',
      /^visibility: .*offers-it/,
    );
    assert.equal((await call(`/v1/connectors/${slug}`)).body.visibility, 'shared');
  });

  it('refuses to delete a connector an integration offers (409, naming the integrations), even forced', async () => {
    const slug = await createConnector({ name: 'Still offered' });
    await call('/v1/integrations', { json: echoIntegration(slug, { name: 'Offer one' }) });
    assertRefused(await call(`/v1/connectors/${slug}?force=true`, { method: 'DELETE' }), 409, 'connector_offered', /"offer-one"/);
    assert.equal((await call(`/v1/connectors/${slug}`)).status, 200);
  });

  it('refuses to delete a connector with connections (409 connector_in_use) unless forced, which revokes them', async () => {
    const slug = await createConnector({ name: 'Connected' });
    const connection = await connect(slug, 'tenant-d', { type: 'bearer', token: STAND_IN.bearer });
    assertRefused(await call(`/v1/connectors/${slug}`, { method: 'DELETE' }), 409, 'connector_in_use', /1 connection\b.*force=true/);
    assert.equal(await statusOf(connection), 'active', 'the refused delete changed nothing');
    const forced = await call(`/v1/connectors/${slug}?force=true`, { method: 'DELETE' });
    assert.equal(forced.status, 200, forced.text);
    assert.deepEqual(forced.body, { deleted: { connector: slug, connections: 1 } });
    assert.equal(await statusOf(connection), 'revoked');
    assertRefused(await call(`/v1/connectors/${slug}`), 404, 'connector_not_found');
    const deleted = (await auditOf(slug)).find((entry) => entry.action === 'connector.deleted');
    assert.equal((JSON.parse(deleted!.details) as { revokedConnections: number }).revokedConnections, 1);
  });

  it('deletes a connector without connections, and answers 404 for one that does not exist', async () => {
    const slug = await createConnector({ name: 'Unused' });
    const gone = await call(`/v1/connectors/${slug}`, { method: 'DELETE' });
    assert.deepEqual(gone.body, { deleted: { connector: slug, connections: 0 } });
    assertRefused(await call(`/v1/connectors/${slug}`, { method: 'DELETE' }), 404, 'connector_not_found');
    assertRefused(await call(`/v1/connectors/${slug}`, { method: 'PATCH', json: { name: 'x' } }), 404, 'connector_not_found');
  });

  it('reads file connectors as source "file" and refuses to change or delete them (409 managed_by_file)', async () => {
    assert.equal((await call('/v1/connectors/bearer')).body.source, 'file');
    // A row stored before "file" was the wire word says "declarations": it reads as "file" all the same.
    const { db } = patchbay.patchbay.ctx.store;
    const row = await db.selectFrom('connectors').select('definition').where('id', '=', 'bearer').executeTakeFirstOrThrow();
    await db
      .updateTable('connectors')
      .set({ definition: JSON.stringify({ ...JSON.parse(row.definition), source: 'declarations' }) })
      .where('id', '=', 'bearer')
      .execute();
    assert.equal((await call('/v1/connectors/bearer')).body.source, 'file');
    assertRefused(await call('/v1/connectors/bearer', { method: 'PATCH', json: { name: 'x' } }), 409, 'managed_by_file', /"bearer" is declared in/);
    assertRefused(await call('/v1/connectors/bearer?force=true', { method: 'DELETE' }), 409, 'managed_by_file');
  });
});
