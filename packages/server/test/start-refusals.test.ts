import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { assertRefused, catalogClient, echoIntegration } from './support/catalog.js';
import { freePort, POSTGRES_URL, runCli, type SharedDatabase, sharedDatabase, startServerProcess } from './support/processes.js';

const bearer = (slug: string, extra: Record<string, unknown> = {}) => ({
  slug,
  name: slug,
  baseUrl: 'https://api.example.com',
  authMethods: [{ type: 'bearer' }],
  ...extra,
});

/**
 * `patchbay start` as an operator runs it, with a config file it could not honour: it must stop
 * before listening, non-zero, with one line per problem naming the connector and what to do.
 */
describe('patchbay start refuses declarations it could not honour', () => {
  const databases: SharedDatabase[] = [];

  after(async () => {
    await Promise.all(databases.map((database) => database.drop()));
  });

  /** A fresh database and config file for one test; `declare` writes the file. */
  async function operator() {
    const database = sharedDatabase(POSTGRES_URL ? 'postgres' : 'sqlite');
    databases.push(database);
    const configFile = path.join(database.dataDir, 'patchbay.config.json');
    const port = await freePort();
    const env = {
      ...database.env,
      PATCHBAY_CONFIG: configFile,
      PORT: String(port),
      PATCHBAY_HOST: '127.0.0.1',
      PATCHBAY_PUBLIC_URL: `http://127.0.0.1:${port}`,
    };
    return { database, env, port, declare: (declarations: unknown) => writeFileSync(configFile, JSON.stringify(declarations)) };
  }

  it('refuses a custom auth method whose handler is not registered, naming the connector, the handler and the fix', { timeout: 60_000 }, async () => {
    const { env, declare } = await operator();
    declare({ connectors: [bearer('signed', { authMethods: [{ type: 'custom', handler: 'hmac-sign' }] })] });
    const run = await runCli(['start'], env);
    assert.equal(run.code, 1, run.stderr);
    const line = run.stderr.split('\n').find((text) => text.includes('"signed"'));
    assert.ok(line, run.stderr);
    assert.match(line, /custom auth method handler "hmac-sign" is not registered/);
    assert.match(line, /createPatchbay\(config, \{ authMethods: .*or remove the method/);
  });

  it('refuses a private connector offered in a file integration, one line per problem', { timeout: 60_000 }, async () => {
    const { env, declare } = await operator();
    declare({
      connectors: [bearer('mine', { visibility: 'private' }), bearer('custom-one', { authMethods: [{ type: 'custom', handler: 'nope' }] })],
      integrations: [{ id: 'tenant-sync', ...echoIntegration('mine') }],
    });
    const run = await runCli(['start'], env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /2 declarations it could not honour/);
    assert.match(run.stderr, /^connector "custom-one" .*handler "nope"/m);
    assert.match(run.stderr, /^integration "tenant-sync" \(from .*patchbay\.config\.json\): connectors\.0: connector "mine" is private/m);
    assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
  });

  it('refuses a stored API integration offering a connector the file no longer declares', { timeout: 120_000 }, async () => {
    const { database, env, port, declare } = await operator();
    declare({ connectors: [bearer('legacy'), bearer('kept')] });
    const server = await startServerProcess({ env, port });
    try {
      const call = catalogClient(server.origin, (await database.accessKey('operator', ['connectors:read', 'connectors:write'])).key);
      const created = await call('/v1/integrations', { json: echoIntegration('legacy', { name: 'Legacy sync' }) });
      assert.equal(created.status, 201, created.text);
      assertRefused(await call('/v1/connectors/legacy', { method: 'DELETE' }), 409, 'managed_by_file');
    } finally {
      await server.stop();
    }
    declare({ connectors: [bearer('kept')] });
    const run = await runCli(['start'], env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^connector "legacy" is no longer declared in .*patchbay\.config\.json, but integration "legacy-sync" offers it\. Declare it again/m,
    );

    // Declared again, the server starts; the integration can then let go of it, and the file too.
    declare({ connectors: [bearer('legacy'), bearer('kept')] });
    const again = await startServerProcess({ env, port });
    try {
      const call = catalogClient(again.origin, (await database.accessKey('operator-2', ['connectors:read', 'connectors:write'])).key);
      const patched = await call('/v1/integrations/legacy-sync', { method: 'PATCH', json: { connectors: ['kept'], actions: {} } });
      assert.equal(patched.status, 200, patched.text);
    } finally {
      await again.stop();
    }
    declare({ connectors: [bearer('kept')] });
    const last = await startServerProcess({ env, port });
    try {
      const call = catalogClient(last.origin, (await database.accessKey('operator-3', ['connectors:read', 'connectors:write'])).key);
      const legacy = await call('/v1/connectors/legacy');
      assert.equal(legacy.body.source, 'api', 'a connector the file dropped and nothing offers is kept as an API connector');
      assert.equal((await call('/v1/connectors/legacy', { method: 'DELETE' })).status, 200, 'which the API can delete');
    } finally {
      await last.stop();
    }
  });
});
