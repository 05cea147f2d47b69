/**
 * The remote CLI against a real server process, on both stores: connectors, integrations,
 * connections and installs, as tables and as JSON, with paging.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliFixture, startCliFixture, tableOf } from './support/cli.js';
import { installEchoForTenant } from './support/install-flow.js';
import { STORE_LABEL, STORE_UNDER_TEST } from './support/processes.js';
import { STAND_IN } from './support/stand-in-api.js';

const ISO_SECOND = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function remoteCatalog(kind: 'sqlite' | 'postgres') {
  let fx: CliFixture;
  let installId: string;
  let connectionId: string;

  before(async () => {
    fx = await startCliFixture(kind);
    ({ installId } = await installEchoForTenant(fx.server.origin, fx.adminKey, 'tenant-a'));
    await installEchoForTenant(fx.server.origin, fx.adminKey, 'tenant-b');
  });
  after(async () => fx?.close());

  it('connectors create --file, with --name over the file, makes a connector the server lists and shows', async () => {
    const file = path.join(fx.database.dataDir, 'connector.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'From file',
        baseUrl: `${fx.standIn.origin}/api-key-header`,
        authMethods: [{ type: 'apiKey', name: 'x-api-key' }],
        actions: { me: { path: '/me' } },
      }),
    );
    const created = await fx.cli(['connectors', 'create', '--file', file, '--name', 'CLI Keyed', '--slug', 'cli-keyed']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^Created connector cli-keyed\./);
    assert.match(created.stdout, /name: +CLI Keyed/);

    const shown = await fx.cli(['connectors', 'show', 'cli-keyed']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /base URL: +http:\/\/127\.0\.0\.1:\d+\/api-key-header/);
    assert.match(shown.stdout, /Auth methods:\nTYPE +LABEL +DEFAULT +DETAILS\napiKey +- +yes +header x-api-key/);
    assert.match(shown.stdout, /Actions:\nACTION +METHOD +PATH\nme +GET +\/me/);
    assert.match(shown.stdout, /created: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);

    const json = await fx.cli(['connectors', 'show', 'cli-keyed', '--json']);
    const body = JSON.parse(json.stdout) as { slug: string; authMethods: Array<{ type: string; default: boolean }> };
    assert.deepEqual([body.slug, body.authMethods[0]], ['cli-keyed', { type: 'apiKey', name: 'x-api-key', in: 'header', default: true }]);
  });

  it('connectors create reads the body from stdin with --file -, and refuses stdin that is not JSON', async () => {
    const body = { slug: 'from-stdin', baseUrl: `${fx.standIn.origin}/none`, authMethods: [{ type: 'none' }] };
    const run = await fx.cli(['connectors', 'create', '--file', '-', '--name', 'From stdin', '--json'], {}, JSON.stringify(body));
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as { slug: string; name: string }).name, 'From stdin');
    const bad = await fx.cli(['connectors', 'create', '--file', '-'], {}, 'name: yaml');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^--file: stdin is not JSON/);
  });

  it('connectors list prints a table with fixed columns; --limit pages and says how to go on; --all follows every page', async () => {
    for (const slug of ['page-a', 'page-b']) {
      const run = await fx.cli([
        'connectors',
        'create',
        '--slug',
        slug,
        '--name',
        slug,
        '--base-url',
        `${fx.standIn.origin}/none`,
        '--file',
        fileWith(fx, { authMethods: [{ type: 'none' }] }),
      ]);
      assert.equal(run.code, 0, run.stderr);
    }
    const all = await fx.cli(['connectors', 'list']);
    assert.equal(all.code, 0, all.stderr);
    const table = tableOf(all.stdout);
    assert.deepEqual(table.header, ['SLUG', 'NAME', 'VISIBILITY', 'SOURCE', 'AUTH', 'ACTIONS', 'UPDATED']);
    assert.deepEqual(
      table.rows.map((row) => row[0]),
      ['bearer', 'cli-keyed', 'from-stdin', 'page-a', 'page-b'],
    );
    const bearer = table.rows[0]!;
    assert.deepEqual(bearer.slice(1, 6), ['Bearer', 'shared', 'file', 'bearer*', '3']);
    assert.match(bearer[6]!, ISO_SECOND);

    const first = await fx.cli(['connectors', 'list', '--limit', '1']);
    assert.deepEqual(
      tableOf(first.stdout).rows.map((row) => row[0]),
      ['bearer'],
    );
    assert.match(first.stderr, /More: add --cursor bearer \(or --all for every page\)\./);
    const second = await fx.cli(['connectors', 'list', '--limit', '1', '--cursor', 'bearer']);
    assert.deepEqual(
      tableOf(second.stdout).rows.map((row) => row[0]),
      ['cli-keyed'],
    );

    const paged = await fx.cli(['connectors', 'list', '--limit', '1', '--all']);
    assert.deepEqual(tableOf(paged.stdout).rows, table.rows);
    assert.equal(paged.stderr, '');
    const json = JSON.parse((await fx.cli(['connectors', 'list', '--limit', '1', '--all', '--json'])).stdout) as { data: Array<{ slug: string }>; next: null };
    assert.deepEqual([json.data.map((connector) => connector.slug), json.next], [['bearer', 'cli-keyed', 'from-stdin', 'page-a', 'page-b'], null]);
    const onePage = JSON.parse((await fx.cli(['connectors', 'list', '--limit', '2', '--json'])).stdout) as { data: unknown[]; next: string };
    assert.deepEqual([onePage.data.length, onePage.next], [2, 'cli-keyed'], '--json without --all is the raw answer');
  });

  it('integrations list and show print the declared integration', async () => {
    const list = await fx.cli(['integrations', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const table = tableOf(list.stdout);
    assert.deepEqual(table.header, ['ID', 'NAME', 'SOURCE', 'CONNECTORS', 'ACTIONS', 'ORIGINS']);
    assert.deepEqual(
      [table.rows[0]![0], table.rows[0]![1], table.rows[0]![3], table.rows[0]!.at(-1)],
      ['echo-sync', 'Echo sync', 'bearer', 'https://app.example.com'],
    );
    const shown = await fx.cli(['integrations', 'show', 'echo-sync']);
    assert.match(shown.stdout, /allowed origins: +https:\/\/app\.example\.com/);
    assert.match(shown.stdout, /Actions:\nACTION +CONNECTOR +METHOD +PATH +FORWARDS BODY\necho +bearer +POST +\/echo +yes/);
    assert.match(shown.stdout, /Config fields: none/);
    const json = JSON.parse((await fx.cli(['integrations', 'list', '--json'])).stdout) as { data: Array<{ id: string }>; next: null };
    assert.deepEqual(
      json.data.map((integration) => integration.id),
      ['echo-sync'],
    );
  });

  it('connections list filters by tenant; show prints one; --all pages through every one', async () => {
    const list = await fx.cli(['connections', 'list', '--tenant', 'tenant-a']);
    assert.equal(list.code, 0, list.stderr);
    const table = tableOf(list.stdout);
    assert.deepEqual(table.header, ['ID', 'CONNECTOR', 'TENANT', 'METHOD', 'STATUS', 'EXPIRES', 'CREATED']);
    assert.equal(table.rows.length, 1);
    const row = table.rows[0]!;
    assert.deepEqual(row.slice(1, 6), ['bearer', 'tenant-a', 'bearer', 'active', '-']);
    connectionId = row[0]!;
    assert.match(connectionId, /^con_[0-9A-Za-z]{22}$/);

    const shown = await fx.cli(['connections', 'show', connectionId]);
    assert.match(shown.stdout, new RegExp(`id: +${connectionId}\\n`));
    assert.match(shown.stdout, /tenant: +tenant-a/);
    const every = await fx.cli(['connections', 'list', '--limit', '1', '--all', '--json']);
    assert.deepEqual((JSON.parse(every.stdout) as { data: Array<{ tenantId: string }> }).data.map((connection) => connection.tenantId).sort(), [
      'tenant-a',
      'tenant-b',
    ]);
  });

  it('connectors test runs an action with a connection and shows the answer with the credential masked', async () => {
    const me = await fx.cli(['connectors', 'test', 'bearer', 'me', '--connection', connectionId]);
    assert.equal(me.code, 0, me.stderr);
    assert.match(me.stdout, /^bearer me: the upstream answered 200 \(application\/json\)\n/);
    assert.deepEqual(JSON.parse(me.stdout.slice(me.stdout.indexOf('\n') + 1)), { ok: true, via: 'bearer', path: '/bearer/me' });

    const echo = await fx.cli(['connectors', 'test', 'bearer', 'echo', '--connection', connectionId, '--json']);
    assert.equal(echo.code, 0, echo.stderr);
    const answer = JSON.parse(echo.stdout) as { status: number; body: { headers: Record<string, string> } };
    assert.deepEqual([answer.status, answer.body.headers.authorization], [200, 'Bearer ••••']);
    const missing = await fx.cli(['connectors', 'test', 'bearer', 'missing', '--connection', connectionId]);
    assert.equal(missing.code, 1, 'an upstream answer other than 2xx exits 1');
    assert.match(missing.stdout, /^bearer missing: the upstream answered 404 /);
    assert.ok(!fx.outputs.some((output) => output.includes(STAND_IN.bearer)), 'the tenant’s token is never printed');
  });

  it('installs list finds by tenant and tag; show prints one; delete removes it', async () => {
    const list = await fx.cli(['installs', 'list', 'echo-sync', '--tenant', 'tenant-a']);
    assert.equal(list.code, 0, list.stderr);
    const table = tableOf(list.stdout);
    assert.deepEqual(table.header, ['ID', 'TENANT', 'STATUS', 'CONNECTIONS', 'TAGS', 'CREATED']);
    assert.deepEqual(
      table.rows.map((row) => row.slice(0, 5)),
      [[installId, 'tenant-a', 'success', '1', 'fusebit.tenantId=tenant-a']],
    );
    const byTag = await fx.cli(['installs', 'list', 'echo-sync', '--tag', 'fusebit.tenantId=tenant-b', '--json']);
    assert.deepEqual(
      (JSON.parse(byTag.stdout) as { data: Array<{ tenantId: string }> }).data.map((install) => install.tenantId),
      ['tenant-b'],
    );

    const shown = await fx.cli(['installs', 'show', 'echo-sync', installId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`connections: +${connectionId}\\n`));
    assert.match(shown.stdout, /status: +success/);

    const deleted = await fx.cli(['installs', 'delete', 'echo-sync', installId]);
    assert.deepEqual([deleted.code, deleted.stdout], [0, `Deleted install ${installId}.\n`]);
    const gone = await fx.cli(['installs', 'show', 'echo-sync', installId]);
    assert.deepEqual([gone.code, gone.stdout, gone.stderr], [1, '', 'error: install_not_found: No such install.\n']);
  });

  it('connections delete revokes the connection', async () => {
    const revoked = await fx.cli(['connections', 'delete', connectionId]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`^Revoked connection ${connectionId}\\.\\n`));
    assert.match(revoked.stdout, /status: +revoked/);
    const list = await fx.cli(['connections', 'list', '--status', 'revoked']);
    assert.deepEqual(
      tableOf(list.stdout).rows.map((row) => row[0]),
      [connectionId],
    );
  });
}

function fileWith(fx: CliFixture, body: unknown): string {
  const file = path.join(fx.database.dataDir, `body-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

describe(`the remote CLI: connectors, integrations, connections, installs (${STORE_LABEL})`, () => {
  remoteCatalog(STORE_UNDER_TEST);
});
