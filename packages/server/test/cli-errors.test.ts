/**
 * The remote CLI's failures against a real server process: the server's refusals as
 * `error: <code>: <message>` with exit 1, an unreachable server, a missing key, usage mistakes
 * (exit 2), and keys restricted by scope or tenant staying restricted. No key is ever printed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CliFixture, startCliFixture, tableOf } from './support/cli.js';
import { installEchoForTenant } from './support/install-flow.js';
import { STORE_LABEL, STORE_UNDER_TEST, runCli } from './support/processes.js';

/** A privileged port (no test server gets it), below the ephemeral range, that fetch does not refuse as a "bad port" and nothing listens on here. */
const NOTHING_LISTENS = 2;

function failures(kind: 'sqlite' | 'postgres') {
  let fx: CliFixture;
  const keys: string[] = [];

  /** A key made through the API by the admin key (the CLI cannot make keys remotely: `keys` is local). */
  async function keyOverHttp(body: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${fx.server.origin}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const { key } = (await response.json()) as { key: string };
    keys.push(key);
    return key;
  }

  before(async () => {
    fx = await startCliFixture(kind);
    keys.push(fx.adminKey);
    await installEchoForTenant(fx.server.origin, fx.adminKey, 'tenant-a');
    await installEchoForTenant(fx.server.origin, fx.adminKey, 'tenant-b');
  });
  after(async () => fx?.close());

  it('prints the server’s error as error: <code>: <message> on stderr and exits 1', async () => {
    const missing = await fx.cli(['connectors', 'show', 'no-such-connector']);
    assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, '', 'error: connector_not_found: No such connector.\n']);
    const invalid = await fx.cli(['connectors', 'create', '--name', 'No base URL', '--file', '-'], {}, '{"authMethods":[{"type":"none"}]}');
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^error: invalid_request: .*baseUrl/);
    const json = await fx.cli(['integrations', 'show', 'nope', '--json']);
    assert.deepEqual([json.code, json.stdout], [1, ''], '--json prints nothing on stdout for an error');
    assert.match(json.stderr, /^error: integration_not_found: /);
  });

  it('says clearly when the server cannot be reached, for a command and for events tail', async () => {
    // A port nothing listens on and the system never hands out to a listener of its own (a freed
    // ephemeral port was taken by another test's server between two of these calls on a busy machine).
    const port = NOTHING_LISTENS;
    for (const args of [
      ['connectors', 'list'],
      ['events', 'tail', '--topics', 'app/*'],
    ]) {
      const run = await fx.cli([...args, '--server', `http://127.0.0.1:${port}`]);
      assert.equal(run.code, 1, args.join(' '));
      assert.equal(run.stdout, '');
      assert.match(run.stderr, new RegExp(`^error: cannot reach the server at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\. Is it running\\?`));
    }
    const fromEnv = await fx.cli(['partners', 'list'], { PATCHBAY_SERVER: `http://127.0.0.1:${port}/` });
    assert.match(fromEnv.stderr, new RegExp(`^error: cannot reach the server at http://127\\.0\\.0\\.1:${port} `), 'PATCHBAY_SERVER is used');
  });

  it('refuses to run without PATCHBAY_API_KEY (exit 2), and a key the server does not know is its 401', async () => {
    const missing = await fx.cli(['connectors', 'list'], { PATCHBAY_API_KEY: '' });
    assert.deepEqual([missing.code, missing.stdout], [2, '']);
    assert.match(missing.stderr, /^PATCHBAY_API_KEY is not set: export an access key/);
    const unknown = await fx.cli(['connectors', 'list'], { PATCHBAY_API_KEY: `pbk_${'A'.repeat(28)}` });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: invalid_credentials: /);
    const flag = await fx.cli(['connectors', 'list', '--key', fx.adminKey]);
    assert.equal(flag.code, 2, 'there is no flag for the key');
  });

  it('exits 2 with the usage for a mistake in the command line, before any request', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['connectors', 'show'], /^Usage: patchbay connectors show <slug>/],
      [['connectors', 'list', '--limit', 'many'], /^--limit: a whole number/],
      [['connectors', 'frobnicate'], /^Unknown action "frobnicate"/],
      [['installs', 'list'], /^Usage: patchbay installs list <integration id>/],
      [['connectors', 'test', 'bearer', 'me'], /^--connection is required/],
      [['connectors', 'update', 'bearer'], /^Nothing to change/],
      [['connectors', 'create', '--file', '/nonexistent/connector.json'], /^--file: cannot read \/nonexistent\/connector\.json: ENOENT/],
      [['connectors', 'list', '--server', 'ftp://example.com'], /^--server: "ftp:\/\/example\.com" is not an http\(s\) URL/],
      [['audit', 'list', '--verbose'], /verbose/],
    ];
    for (const [args, message] of cases) {
      const run = await fx.cli(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    const help = await fx.cli(['connectors', '--help']);
    assert.deepEqual([help.code, help.stdout.split('\n')[0]], [0, 'Usage:']);
  });

  it('a read-only key lists but may not change; the refusal is the server’s insufficient_scope', async () => {
    const reader = await keyOverHttp({ name: 'cli-reader', scopes: ['read-only'] });
    const list = await fx.cli(['connectors', 'list'], { PATCHBAY_API_KEY: reader });
    assert.equal(list.code, 0, list.stderr);
    const create = await fx.cli(
      ['connectors', 'create', '--file', '-'],
      { PATCHBAY_API_KEY: reader },
      '{"name":"x","baseUrl":"https://x.example","authMethods":[{"type":"none"}]}',
    );
    assert.equal(create.code, 1);
    assert.match(create.stderr, /^error: insufficient_scope: /);
  });

  it('a tenant-restricted key sees only its tenant, whatever it asks for', async () => {
    const tenantKey = await keyOverHttp({ name: 'cli-tenant-a', scopes: ['installs:read'], tenantId: 'tenant-a' });
    const asked = await fx.cli(['connections', 'list', '--tenant', 'tenant-b'], { PATCHBAY_API_KEY: tenantKey });
    assert.equal(asked.code, 0, asked.stderr);
    assert.deepEqual(
      tableOf(asked.stdout).rows.map((row) => row[2]),
      ['tenant-a'],
    );
    const installs = await fx.cli(['installs', 'list', 'echo-sync', '--all', '--json'], { PATCHBAY_API_KEY: tenantKey });
    assert.deepEqual(
      (JSON.parse(installs.stdout) as { data: Array<{ tenantId: string }> }).data.map((install) => install.tenantId),
      ['tenant-a'],
    );
    const everyConnection = await fx.cli(['connections', 'list', '--json']);
    const other = (JSON.parse(everyConnection.stdout) as { data: Array<{ id: string; tenantId: string }> }).data.find((c) => c.tenantId === 'tenant-b')!;
    const refused = await fx.cli(['connections', 'show', other.id], { PATCHBAY_API_KEY: tenantKey });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: tenant_forbidden: /);
  });

  it('warns before sending the key over plain http to another host', async () => {
    // 0.0.0.0 is not a loopback name (it reaches this machine, where nothing listens on the port).
    const port = NOTHING_LISTENS;
    const run = await runCli(['connectors', 'list', '--server', `http://0.0.0.0:${port}`], { PATCHBAY_API_KEY: fx.adminKey });
    assert.match(run.stderr, new RegExp(`^warning: the access key is sent to 0\\.0\\.0\\.0:${port} over plain http; use https\\.\\n`));
    const local = await runCli(['connectors', 'list', '--server', `http://localhost:${port}`], { PATCHBAY_API_KEY: fx.adminKey });
    assert.doesNotMatch(local.stderr, /warning/, 'no warning for loopback');
    fx.outputs.push(local.stdout + local.stderr);
    fx.outputs.push(run.stdout + run.stderr);
  });

  it('never prints an access key', () => {
    assert.ok(fx.outputs.length > 15);
    for (const key of keys) for (const output of fx.outputs) assert.ok(!output.includes(key.slice(10)), 'no secret part of a key in any output');
  });
}

describe(`the remote CLI: errors and restricted keys (${STORE_LABEL})`, () => {
  failures(STORE_UNDER_TEST);
});
