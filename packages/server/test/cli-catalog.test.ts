/**
 * Needs the routes of the `catalog` and `audit` branches of issue 15: `POST/PATCH/DELETE
 * /v1/integrations`, `PATCH/DELETE /v1/connectors/:slug`, `PATCH /v1/partners/:partnerId` and the
 * filters of `GET /v1/audit` (resourceType, resourceId, actor, action, from, to). Both are merged
 * into main, and main into `cli`, so it passes here; on `cli` before those merges it could not.
 *
 * The catalog managed through the CLI against a real server process, on both stores: a connector
 * and an integration created with `patchbay`, connected by a tenant through the hosted credential
 * form, called through a tenant action, and the install shown with `patchbay`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CliFixture, startCliFixture } from './support/cli.js';
import { FLOW_HOST_ORIGIN } from './support/install-flow.js';
import { waitFor } from './support/keys.js';
import { STORE_LABEL, STORE_UNDER_TEST } from './support/processes.js';
import { STAND_IN } from './support/stand-in-api.js';

interface AuditEntry {
  action: string;
  actor: string;
  resourceType?: string;
  resourceId?: string;
  targetType?: string;
  targetId?: string;
  at: string;
}
const resourceOf = (entry: AuditEntry) => [entry.resourceType ?? entry.targetType, entry.resourceId ?? entry.targetId];

/** The hosted form flow over HTTP for one tenant: session, credential form with the API key, commit; answers the install id. */
async function connectWithApiKey(fx: CliFixture, integrationId: string, connector: string, tenantId: string): Promise<string> {
  const base = `${fx.server.origin}/v1/integrations/${integrationId}`;
  const headers = { authorization: `Bearer ${fx.adminKey}`, 'content-type': 'application/json' };
  const created = await fetch(`${base}/session`, { method: 'POST', headers, body: JSON.stringify({ tenantId, connector }) });
  assert.equal(created.status, 200, await created.clone().text());
  const { id } = (await created.json()) as { id: string };
  const start = await fetch(`${base}/session/${id}/start?mode=popup&origin=${encodeURIComponent(FLOW_HOST_ORIGIN)}`, { redirect: 'manual' });
  assert.equal(start.status, 200, 'the credential form');
  await start.body?.cancel();
  const submitted = await fetch(`${base}/session/${id}/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key: STAND_IN.apiKey }).toString(),
  });
  assert.equal(submitted.status, 200, 'the API key was accepted');
  await submitted.body?.cancel();
  const committed = await fetch(`${base}/session/${id}/commit`, { method: 'POST', headers });
  assert.equal(committed.status, 200);
  const { targetUrl } = (await committed.json()) as { targetUrl: string };
  return waitFor('the install to succeed', async () => {
    const install = (await (await fetch(targetUrl, { headers })).json()) as { id: string; operationState: { status: string } };
    return install.operationState.status === 'success' ? install.id : undefined;
  });
}

function catalogThroughTheCli(kind: 'sqlite' | 'postgres') {
  let fx: CliFixture;
  let installId: string;
  const connector = {
    slug: 'cli-keyed',
    description: 'A keyed API on loopback',
    authMethods: [{ type: 'apiKey', in: 'header', name: 'x-api-key' }],
    actions: { me: { method: 'GET', path: '/me' } },
  };
  const integration = { description: 'Made with the CLI', actions: { me: { connector: 'cli-keyed', method: 'GET', path: '/me' } } };

  before(async () => {
    fx = await startCliFixture(kind);
  });
  after(async () => fx?.close());

  it('a connector and an integration created with the CLI are connected by a tenant, answer a tenant action, and the install shows in the CLI', async () => {
    const madeConnector = await fx.cli(
      ['connectors', 'create', '--file', '-', '--name', 'CLI Keyed', '--visibility', 'shared', '--base-url', `${fx.standIn.origin}/api-key-header`],
      {},
      JSON.stringify(connector),
    );
    assert.equal(madeConnector.code, 0, madeConnector.stderr);
    assert.match(madeConnector.stdout, /^Created connector cli-keyed\./);

    const madeIntegration = await fx.cli(
      ['integrations', 'create', '--file', '-', '--id', 'cli-sync', '--name', 'CLI sync', '--connector', 'cli-keyed', '--origin', FLOW_HOST_ORIGIN],
      {},
      JSON.stringify(integration),
    );
    assert.equal(madeIntegration.code, 0, madeIntegration.stderr);
    assert.match(madeIntegration.stdout, /^Created integration cli-sync\./);
    assert.match(madeIntegration.stdout, /Actions:\nACTION +CONNECTOR +METHOD +PATH +FORWARDS BODY\nme +cli-keyed +GET +\/me/);

    installId = await connectWithApiKey(fx, 'cli-sync', 'cli-keyed', 'tenant-cli');
    const action = await fetch(`${fx.server.origin}/v1/integrations/cli-sync/api/tenant/tenant-cli/me`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.adminKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(action.status, 200, await action.clone().text());
    assert.match(JSON.stringify(await action.json()), /"via":"api-key-header"/);

    const shown = await fx.cli(['installs', 'show', 'cli-sync', installId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /integration: +cli-sync\n/);
    assert.match(shown.stdout, /tenant: +tenant-cli\n/);
    assert.match(shown.stdout, /status: +success\n/);
    assert.match(shown.stdout, /connections: +con_[0-9A-Za-z]{22}\n/);
    assert.ok(!fx.outputs.some((output) => output.includes(STAND_IN.apiKey)), 'the tenant’s API key is never printed');
  });

  it('connectors update changes fields; delete is refused while connections exist and goes through with --force', async () => {
    const updated = await fx.cli(['connectors', 'update', 'cli-keyed', '--name', 'CLI Keyed v2', '--description', 'Renamed']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /^Updated connector cli-keyed\.\n\n/);
    assert.match(updated.stdout, /name: +CLI Keyed v2\n/);
    assert.equal((JSON.parse((await fx.cli(['connectors', 'show', 'cli-keyed', '--json'])).stdout) as { description: string }).description, 'Renamed');

    const bad = await fx.cli(['connectors', 'update', 'cli-keyed', '--visibility', 'everyone']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: \w+: .*visibility/);

    const refused = await fx.cli(['connectors', 'delete', 'cli-keyed']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: \w+: /);
    assert.equal((await fx.cli(['connectors', 'show', 'cli-keyed'])).code, 0, 'still there');
  });

  it('integrations update changes fields; a file-managed one is refused with managed_by_file; delete with installs needs --force', async () => {
    const updated = await fx.cli(['integrations', 'update', 'cli-sync', '--name', 'CLI sync v2']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /name: +CLI sync v2\n/);

    const managed = await fx.cli(['integrations', 'update', 'echo-sync', '--name', 'Not mine']);
    assert.equal(managed.code, 1);
    assert.match(managed.stderr, /^error: managed_by_file: /);

    const refused = await fx.cli(['integrations', 'delete', 'cli-sync']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: \w+: /);
    const forced = await fx.cli(['integrations', 'delete', 'cli-sync', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^Deleted integration cli-sync\./);
    const gone = await fx.cli(['integrations', 'show', 'cli-sync']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: integration_not_found: /);

    const connectorGone = await fx.cli(['connectors', 'delete', 'cli-keyed', '--force']);
    assert.equal(connectorGone.code, 0, connectorGone.stderr);
    assert.equal((await fx.cli(['connectors', 'show', 'cli-keyed'])).stderr, 'error: connector_not_found: No such connector.\n');
  });

  it('partners update sets typed metadata, shown by partners show; a bad colour is refused naming the field', async () => {
    const invited = await fx.cli(['partners', 'invite', '--name', 'Shipfast', '--json']);
    const { id } = (JSON.parse(invited.stdout) as { data: { id: string } }).data;
    const updated = await fx.cli([
      'partners',
      'update',
      id,
      '--color',
      '#336699',
      '--icon',
      'https://cdn.example.com/s.png',
      '--owner',
      'ops@shipfast.example',
      '--tag',
      'logistics',
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    const shown = await fx.cli(['partners', 'show', id]);
    assert.match(shown.stdout, /owner: +ops@shipfast\.example\n/);
    assert.match(shown.stdout, /colour: +#336699\n/);
    assert.match(shown.stdout, /icon: +https:\/\/cdn\.example\.com\/s\.png\n/);
    assert.match(shown.stdout, /tags: +logistics\n/);
    const bad = await fx.cli(['partners', 'update', id, '--color', 'blue']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: \w+: .*colou?r/i);
  });

  it('audit list filters by resource, actor, action and time', async () => {
    const list = async (...args: string[]) => {
      const run = await fx.cli(['audit', 'list', '--all', '--json', ...args]);
      assert.equal(run.code, 0, run.stderr);
      return (JSON.parse(run.stdout) as { data: AuditEntry[] }).data;
    };
    const forConnector = await list('--resource-type', 'connector', '--resource-id', 'cli-keyed');
    assert.ok(forConnector.length >= 3, 'created, updated, deleted');
    assert.ok(forConnector.every((entry) => resourceOf(entry).join(' ') === 'connector cli-keyed'));
    assert.ok(['connector.created', 'connector.updated', 'connector.deleted'].every((action) => forConnector.some((entry) => entry.action === action)));

    const created = await list('--action', 'integration.created');
    assert.deepEqual(
      created.map((entry) => [resourceOf(entry)[1], entry.actor]),
      [['cli-sync', fx.adminKeyId]],
    );
    const byActor = await list('--actor', fx.adminKeyId);
    assert.ok(byActor.length >= forConnector.length && byActor.every((entry) => entry.actor === fx.adminKeyId));
    assert.deepEqual(await list('--from', new Date(Date.now() + 3_600_000).toISOString()), [], 'nothing from the future');
    const until = await list('--resource-type', 'connector', '--to', forConnector.at(-1)!.at);
    assert.ok(until.every((entry) => entry.at <= forConnector.at(-1)!.at));
  });
}

describe(`the catalog through the CLI (${STORE_LABEL})`, () => {
  catalogThroughTheCli(STORE_UNDER_TEST);
});
