import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertRefused, bearerConnector, type CatalogCall, catalogClient, echoIntegration } from './support/catalog.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations, FLOW_HOST_ORIGIN, installEchoForTenant } from './support/install-flow.js';
import { startStandInApi, type StandInApi } from './support/stand-in-api.js';

interface IntegrationView {
  id: string;
  name: string;
  connectors: string[];
  allowedOrigins: string[];
  source: string;
  createdAt: string;
  updatedAt: string;
}

describe('integrations over HTTP (/v1/integrations)', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let call: CatalogCall;
  let hostKey: string;
  let readerKey: string;

  before(async () => {
    api = await startStandInApi();
    // The file declares the `bearer` connector and the `echo-sync` integration.
    patchbay = await startPatchbay({ declarations: echoDeclarations(api) });
    call = catalogClient(patchbay.origin, await patchbay.accessKey(['connectors:read', 'connectors:write']));
    hostKey = await patchbay.accessKey();
    readerKey = await patchbay.accessKey(['connectors:read']);
  });

  /** A second instance on the first one's store (closed before it). */
  let second: TestPatchbay | undefined;

  after(async () => {
    await second?.close();
    await patchbay.close();
    await api.close();
  });

  async function createConnector(extra: Record<string, unknown> = {}): Promise<string> {
    const answer = await call('/v1/connectors', { json: bearerConnector(api, extra) });
    assert.equal(answer.status, 201, answer.text);
    return answer.body.slug as string;
  }

  async function createIntegration(body: Record<string, unknown>): Promise<IntegrationView> {
    const answer = await call('/v1/integrations', { json: body });
    assert.equal(answer.status, 201, answer.text);
    return answer.body as unknown as IntegrationView;
  }

  const auditOf = (targetId: string) =>
    patchbay.patchbay.ctx.store.db.selectFrom('audit_entries').selectAll().where('target_id', '=', targetId).orderBy('id').execute();

  it('connects a tenant to a connector and an integration made through the API, and runs its action (create → session → commit)', async () => {
    const connector = await createConnector();
    const integration = await createIntegration(echoIntegration(connector));
    assert.equal(integration.id, 'runtime-sync', 'the id is made from the name');
    assert.equal(integration.source, 'api');
    assert.ok(integration.createdAt && integration.updatedAt);
    await installEchoForTenant(patchbay.origin, hostKey, 'tenant-1', { integrationId: integration.id, connector });
    const action = await call(`/v1/integrations/${integration.id}/api/tenant/tenant-1/echo`, { json: { hello: 'world' }, key: hostKey });
    assert.equal(action.status, 200, action.text);
    const result = action.body as { status: number; body: { body: string; headers: Record<string, string> } };
    assert.equal(result.status, 200);
    assert.deepEqual(JSON.parse(result.body.body), { hello: 'world' }, "the upstream received the host's body");
    const audit = await auditOf(integration.id);
    assert.deepEqual(
      audit.map((entry) => entry.action),
      ['integration.created'],
    );
  });

  it('reads file integrations as source "file" and refuses to change or delete them (409 managed_by_file, naming the file)', async () => {
    const read = await call('/v1/integrations/echo-sync', { key: readerKey });
    assert.equal(read.status, 200);
    assert.equal(read.body.source, 'file');
    assertRefused(await call('/v1/integrations/echo-sync', { method: 'PATCH', json: { name: 'Renamed' } }), 409, 'managed_by_file', /echo-sync.*declared in/);
    assertRefused(await call('/v1/integrations/echo-sync', { method: 'DELETE' }), 409, 'managed_by_file');
    assert.equal((await call('/v1/integrations/echo-sync')).body.name, 'Echo sync', 'nothing changed');
  });

  it('lists integrations with the list envelope, paged by id without repeats or gaps', async () => {
    for (const name of ['Page a', 'Page b', 'Page c']) await createIntegration(echoIntegration('bearer', { name }));
    const seen: string[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page = await call(`/v1/integrations?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: readerKey });
      assert.equal(page.status, 200);
      const { data, next } = page.body as unknown as { data: IntegrationView[]; next: string | null };
      assert.ok(data.length <= 2);
      seen.push(...data.map((integration) => integration.id));
      cursor = next;
    }
    assert.deepEqual(seen, [...seen].sort(), 'ordered by id');
    assert.equal(new Set(seen).size, seen.length, 'no repeats');
    for (const id of ['echo-sync', 'page-a', 'page-b', 'page-c']) assert.ok(seen.includes(id), `${id} is listed`);
  });

  it('refuses integrations the server could not honour with 400 naming the field, and stores nothing', async () => {
    const own = await createConnector({ name: 'Own test', visibility: 'private' });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [echoIntegration('ghost', { name: 'Ghost' }), /^connectors\.0: no connector "ghost"/],
      [echoIntegration('bearer', { name: 'Stray', actions: { run: { connector: own, path: '/me' } } }), /^actions\.run\.connector: .*does not list/],
      [echoIntegration(own, { name: 'Private' }), /^connectors\.0: connector "own-test" is private/],
      [{ ...echoIntegration('bearer'), name: undefined }, /^name: /],
      [
        echoIntegration('bearer', { actions: { get: { connector: 'bearer', path: '/items/{config.region}' } } }),
        /^actions\.get\.path: \{config\.region\} is neither/,
      ],
      [
        echoIntegration('bearer', {
          configFields: [
            { name: 'region', label: 'Region' },
            { name: 'region', label: 'Again' },
          ],
        }),
        /^configFields\.1\.name: "region" is already/,
      ],
      [echoIntegration('bearer', { allowedOrigins: ['ftp://x.example'] }), /^allowedOrigins\.0: /],
    ];
    const before = (await call('/v1/integrations')).body.data as unknown[];
    for (const [body, named] of cases) assertRefused(await call('/v1/integrations', { json: body }), 400, 'invalid_request', named);
    assert.equal(((await call('/v1/integrations')).body.data as unknown[]).length, before.length, 'no integration was stored');
  });

  it('changes every field but the id with PATCH, answers the new integration and audits before/after', async () => {
    const created = await createIntegration(echoIntegration('bearer', { name: 'Patch me' }));
    const second = await createConnector({ name: 'Second bearer' });
    const patched = await call(`/v1/integrations/${created.id}`, {
      method: 'PATCH',
      json: {
        name: 'Patched',
        connectors: ['bearer', second],
        allowedOrigins: ['https://other.example.com'],
        configFields: [{ name: 'region', label: 'Region' }],
      },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.id, created.id);
    assert.equal(patched.body.name, 'Patched');
    assert.deepEqual(patched.body.connectors, ['bearer', second]);
    assert.deepEqual(patched.body.allowedOrigins, ['https://other.example.com']);
    assert.deepEqual((await call(`/v1/integrations/${created.id}`)).body, patched.body, 'a read answers the same');
    assertRefused(await call(`/v1/integrations/${created.id}`, { method: 'PATCH', json: { id: 'renamed' } }), 400, 'invalid_request', /id/);
    const [, updated] = await auditOf(created.id);
    assert.equal(updated?.action, 'integration.updated');
    const { changes } = JSON.parse(updated!.details) as { changes: Record<string, { before: unknown; after: unknown }> };
    assert.deepEqual(changes.name, { before: 'Patch me', after: 'Patched' });
    assert.ok(!('actions' in changes), 'an unchanged field is not in the details');
  });

  it('refuses a PATCH the server could not honour with 400 naming the field, and changes nothing', async () => {
    const created = await createIntegration(echoIntegration('bearer', { name: 'Keep me' }));
    const own = await createConnector({ name: 'Own again', visibility: 'private' });
    assertRefused(
      await call(`/v1/integrations/${created.id}`, { method: 'PATCH', json: { connectors: ['ghost'] } }),
      400,
      'invalid_request',
      /connectors\.0: no connector "ghost"/,
    );
    assertRefused(
      await call(`/v1/integrations/${created.id}`, { method: 'PATCH', json: { name: 'Half', connectors: [own] } }),
      400,
      'invalid_request',
      /connectors\.0: connector "own-again" is private.*actions\.echo\.connector/,
    );
    assertRefused(
      await call(`/v1/integrations/${created.id}`, { method: 'PATCH', json: { actions: { x: { connector: own, path: '/x' } } } }),
      400,
      'invalid_request',
      /actions\.x\.connector/,
    );
    assert.deepEqual((await call(`/v1/integrations/${created.id}`)).body, created as unknown as Record<string, unknown>, 'nothing was half-updated');
    assertRefused(await call('/v1/integrations/nobody', { method: 'PATCH', json: { name: 'x' } }), 404, 'integration_not_found');
  });

  it('deletes an integration without installs, and refuses one with installs (409 integration_in_use, counting them) unless forced', async () => {
    const empty = await createIntegration(echoIntegration('bearer', { name: 'Empty' }));
    const gone = await call(`/v1/integrations/${empty.id}`, { method: 'DELETE' });
    assert.equal(gone.status, 200, gone.text);
    assert.deepEqual(gone.body, { deleted: { integration: empty.id, installs: 0, sessions: 0 } });
    assertRefused(await call(`/v1/integrations/${empty.id}`), 404, 'integration_not_found');

    const used = await createIntegration(echoIntegration('bearer', { name: 'Used' }));
    const { installId } = await installEchoForTenant(patchbay.origin, hostKey, 'tenant-used', { integrationId: used.id, connector: 'bearer' });
    const open = await call(`/v1/integrations/${used.id}/session`, { json: { tenantId: 'tenant-waiting', connector: 'bearer' }, key: hostKey });
    assert.equal(open.status, 200, open.text);
    assertRefused(await call(`/v1/integrations/${used.id}`, { method: 'DELETE' }), 409, 'integration_in_use', /1 install\b.*force=true/);
    assert.equal((await call(`/v1/integrations/${used.id}/install/${installId}`, { key: hostKey })).status, 200, 'the refused delete removed nothing');

    const forced = await call(`/v1/integrations/${used.id}?force=true`, { method: 'DELETE' });
    assert.equal(forced.status, 200, forced.text);
    assert.deepEqual(forced.body, { deleted: { integration: used.id, installs: 1, sessions: 1 } });
    const { db } = patchbay.patchbay.ctx.store;
    const install = await db.selectFrom('installs').select('deleted_at').where('id', '=', installId).executeTakeFirstOrThrow();
    assert.ok(install.deleted_at, 'the install is soft-deleted');
    const session = await db
      .selectFrom('sessions')
      .select(['status', 'error_code'])
      .where('id', '=', open.body.id as string)
      .executeTakeFirstOrThrow();
    assert.deepEqual(session, { status: 'cancelled', error_code: 'integration_deleted' });
    assertRefused(await call(`/v1/integrations/${used.id}/session`, { json: { tenantId: 't' }, key: hostKey }), 404, 'integration_not_found');
    const deleted = (await auditOf(used.id)).find((entry) => entry.action === 'integration.deleted');
    assert.deepEqual(JSON.parse(deleted!.details).installs, 1);
  });

  it('refuses PATCH and DELETE without connectors:write, and unknown ids with 404', async () => {
    assertRefused(await call('/v1/integrations/runtime-sync', { method: 'PATCH', json: { name: 'x' }, key: readerKey }), 403, 'insufficient_scope');
    assertRefused(await call('/v1/integrations/runtime-sync', { method: 'DELETE', key: readerKey }), 403, 'insufficient_scope');
    assertRefused(await call('/v1/integrations', { json: echoIntegration('bearer'), key: readerKey }), 403, 'insufficient_scope');
    assertRefused(await call('/v1/integrations/nobody', { method: 'DELETE' }), 404, 'integration_not_found');
  });

  it('lets a second instance on the same store serve an integration the first one created or changed', async () => {
    second = await startPatchbay({
      declarations: echoDeclarations(api),
      config: { databaseUrl: patchbay.config.databaseUrl, dbSchema: patchbay.config.dbSchema, masterKeys: patchbay.config.masterKeys },
    });
    {
      const secondHost = await second.accessKey(undefined, { name: 'second-instance-host' });
      await second.patchbay.ctx.catalog.refreshIntegrations();
      const created = await createIntegration(echoIntegration('bearer', { name: 'Shared later' }));
      assert.ok(!second.patchbay.ctx.catalog.integrations.has(created.id), 'the second instance has not seen it yet');
      const session = await fetch(`${second.origin}/v1/integrations/${created.id}/session`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secondHost}`, 'content-type': 'application/json', origin: FLOW_HOST_ORIGIN },
        body: JSON.stringify({ tenantId: 'tenant-b', connector: 'bearer' }),
      });
      assert.equal(session.status, 200, await session.text());
      await call(`/v1/integrations/${created.id}`, { method: 'PATCH', json: { allowedOrigins: ['https://moved.example.com'] } });
      const refused = await fetch(`${second.origin}/v1/integrations/${created.id}/session`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secondHost}`, 'content-type': 'application/json', origin: FLOW_HOST_ORIGIN },
        body: JSON.stringify({ tenantId: 'tenant-b', connector: 'bearer' }),
      });
      assert.equal(refused.status, 403, 'the origin removed on the first instance is refused on the second');
    }
  });
});
