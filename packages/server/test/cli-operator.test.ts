/** The remote CLI's partner, audit and event commands against a real server process, on both stores. */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type CliFixture, startCliFixture, tableOf } from './support/cli.js';
import { waitFor } from './support/keys.js';
import { STORE_LABEL, STORE_UNDER_TEST, runToEnd, spawnCli } from './support/processes.js';

const LINK = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/partner#code=\S+)$/m;

function operatorCommands(kind: 'sqlite' | 'postgres') {
  let fx: CliFixture;
  let partnerId: string;
  const links: string[] = [];

  before(async () => {
    fx = await startCliFixture(kind);
  });
  after(async () => fx?.close());

  it('partners invite creates a partner with typed metadata and prints its one-time link once, set apart', async () => {
    const run = await fx.cli(['partners', 'invite', '--name', 'Acme Billing', '--description', 'Invoices', '--owner', 'ops@acme.example', '--tag', 'billing']);
    assert.equal(run.code, 0, run.stderr);
    const created = /^Created partner (ptn_[0-9A-Za-z]+) \(Acme Billing\)\.\n\nOne-time onboarding link \(shown only now\):\n\n/.exec(run.stdout);
    assert.ok(created, run.stdout);
    partnerId = created[1]!;
    const link = LINK.exec(run.stdout)?.[1];
    assert.ok(link, run.stdout);
    links.push(link);
    assert.match(run.stdout, /whoever opens it first onboards as this partner/);
    assert.equal(run.stdout.split(link).length, 2, 'the link is printed exactly once');
  });

  it('partners list and show print the partner, without any link', async () => {
    const list = await fx.cli(['partners', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const table = tableOf(list.stdout);
    assert.deepEqual(table.header, ['ID', 'NAME', 'STATUS', 'TAGS', 'OWNER', 'CREATED']);
    assert.deepEqual(
      table.rows.map((row) => row.slice(0, 5)),
      [[partnerId, 'Acme Billing', 'invited', 'billing', 'ops@acme.example']],
    );

    const shown = await fx.cli(['partners', 'show', partnerId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /name: +Acme Billing\n/);
    assert.match(shown.stdout, /owner: +ops@acme\.example\n/);
    assert.match(shown.stdout, /Topic grants: none\n\nPartner keys: none\n$/);
    const json = JSON.parse((await fx.cli(['partners', 'show', partnerId, '--json'])).stdout) as { id: string; tags: string[]; grants: unknown[] };
    assert.deepEqual([json.id, json.tags, json.grants], [partnerId, ['billing'], []]);
  });

  it('partners link issues a new one-time link and prints it once; revoke-links, suspend and reinstate act on the partner', async () => {
    const run = await fx.cli(['partners', 'link', partnerId]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^New onboarding link for partner ${partnerId}; it expires at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\.\\n`));
    const link = LINK.exec(run.stdout)?.[1];
    assert.ok(link && !links.includes(link), 'a new link');
    links.push(link);

    const revoked = await fx.cli(['partners', 'revoke-links', partnerId]);
    assert.deepEqual([revoked.code, revoked.stdout], [0, `Partner ${partnerId}: 2 unused link(s) revoked.\n`]);
    const suspended = await fx.cli(['partners', 'suspend', partnerId]);
    assert.equal(suspended.code, 0, suspended.stderr);
    assert.match(suspended.stdout, /status: +suspended/);
    assert.deepEqual(
      tableOf((await fx.cli(['partners', 'list', '--status', 'suspended'])).stdout).rows.map((row) => row[0]),
      [partnerId],
    );
    const reinstated = await fx.cli(['partners', 'reinstate', partnerId, '--json']);
    assert.equal((JSON.parse(reinstated.stdout) as { status: string }).status, 'active');
  });

  it('audit list shows who changed what, newest first, with paging; no link appears in it', async () => {
    const list = await fx.cli(['audit', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const table = tableOf(list.stdout);
    assert.deepEqual(table.header, ['AT', 'ACTOR', 'ACTION', 'RESOURCE', 'DETAILS']);
    const partnerRows = table.rows.filter((row) => row[3] === `partner ${partnerId}`);
    assert.deepEqual(
      partnerRows.map((row) => [row[1], row[2]]),
      [
        [fx.adminKeyId, 'partner.reinstated'],
        [fx.adminKeyId, 'partner.suspended'],
        [fx.adminKeyId, 'partner.links_revoked'],
        [fx.adminKeyId, 'partner.link_issued'],
        [fx.adminKeyId, 'partner.created'],
      ],
    );
    assert.ok(
      partnerRows.some((row) => row[2] === 'partner.created' && row[4]!.startsWith('{"appName":"Acme Billing"')),
      'the details, as compact JSON',
    );

    const first = await fx.cli(['audit', 'list', '--limit', '2']);
    assert.equal(tableOf(first.stdout).rows.length, 2);
    assert.match(first.stderr, /^More: add --cursor aud_\S+ \(or --all for every page\)\.\n$/);
    const every = JSON.parse((await fx.cli(['audit', 'list', '--limit', '2', '--all', '--json'])).stdout) as { data: Array<{ id: string }>; next: null };
    assert.equal(every.data.length, table.rows.length, '--all pages through every entry');
    assert.equal(new Set(every.data.map((entry) => entry.id)).size, every.data.length);

    for (const link of links) {
      const code = link.slice(link.indexOf('#code=') + 6);
      const holders = fx.outputs.filter((output) => output.includes(code));
      assert.equal(holders.length, 1, 'each link is only in the output that created it');
    }
  });

  it('events tail prints one line per event as it is published, resumes from --after, and ends cleanly on Ctrl-C', async () => {
    const env = { PATCHBAY_SERVER: fx.server.origin, PATCHBAY_API_KEY: fx.adminKey };
    const publish = async (topic: string, payload: unknown) => {
      const response = await fetch(`${fx.server.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fx.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic, payload }),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { data: { seq: number } }).data.seq;
    };
    const child = spawnCli(['events', 'tail', '--topics', 'app/order/*'], env);
    const ended = runToEnd(child);
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    await waitFor('the tail to connect', async () => (stderr.includes('Tailing app/order/* on') ? true : undefined), 20_000);

    const firstSeq = await publish('app/order/created', { id: 1, total: 42 });
    await publish('app/user/created', { id: 'not an order' });
    const lastSeq = await publish('app/order/paid', { id: 1 });
    await waitFor('two events printed', async () => (lines.length >= 2 ? true : undefined), 10_000);
    const cells = lines.map((line) => line.split('  '));
    assert.deepEqual(
      cells.map((line) => line.slice(1)),
      [
        [String(firstSeq), 'app/order/created', '{"id":1,"total":42}'],
        [String(lastSeq), 'app/order/paid', '{"id":1}'],
      ],
    );
    for (const line of cells) assert.match(line[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    child.kill('SIGINT');
    const run = await ended;
    assert.equal(run.code, 0, `Ctrl-C ends the tail with 0: ${stderr}`);

    const resumed = spawnCli(['events', 'tail', '--topics', 'app/order/*', '--after', String(firstSeq), '--json'], env);
    const resumedEnd = runToEnd(resumed);
    const jsonLines: string[] = [];
    createInterface({ input: resumed.stdout }).on('line', (line) => jsonLines.push(line));
    await waitFor('the backlog after --after', async () => (jsonLines.length >= 1 ? true : undefined), 20_000);
    resumed.kill('SIGINT');
    assert.equal((await resumedEnd).code, 0);
    assert.deepEqual(
      jsonLines.map((line) => JSON.parse(line) as { seq: number; topic: string; payload: unknown }).map(({ seq, topic, payload }) => ({ seq, topic, payload })),
      [{ seq: lastSeq, topic: 'app/order/paid', payload: { id: 1 } }],
    );
  });

  it('events tail without topics is refused by the server with its message', async () => {
    const run = await fx.cli(['events', 'tail']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: invalid_request: topics: /);
  });
}

describe(`the remote CLI: partners, audit, events (${STORE_LABEL})`, () => {
  operatorCommands(STORE_UNDER_TEST);
});
