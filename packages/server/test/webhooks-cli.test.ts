/** `patchbay webhooks …` against a real server (dev mode: the receiver is http on loopback). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { emitWebhookEvent } from '../src/webhooks/emit.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { runCli } from './support/processes.js';
import { type Receiver, startReceiver, verify } from './support/webhook-receiver.js';

describe('patchbay webhooks (CLI)', () => {
  let patchbay: TestPatchbay;
  let receiver: Receiver;
  let env: Record<string, string>;
  let webhookId: string;
  const outputs: string[] = [];
  const secrets: string[] = [];

  before(async () => {
    receiver = await startReceiver();
    patchbay = await startPatchbay({ dev: true, declarations: { connectors: [], integrations: [] }, config: { webhookPollMs: 60_000 } });
    env = { PATCHBAY_SERVER: patchbay.origin, PATCHBAY_API_KEY: await patchbay.accessKey(['webhooks:write', 'webhooks:read']) };
  });
  after(async () => {
    await patchbay.close();
    await receiver.close();
  });

  const cli = async (args: string[]) => {
    const run = await runCli(['webhooks', ...args], env);
    outputs.push(run.stdout, run.stderr);
    return run;
  };

  it('create prints the endpoint and its secret once; list and show never print it', async () => {
    const created = await cli(['create', '--url', receiver.url, '--event', 'install.created', '--event', 'install.deleted', '--description', 'CLI hooks']);
    assert.equal(created.code, 0, created.stderr);
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(created.stdout)?.[0];
    assert.ok(secret, 'the secret is printed');
    secrets.push(secret);
    assert.match(created.stdout, /Signing secret \(shown only now\)/);
    webhookId = /id: +(whe_\w+)/.exec(created.stdout)![1]!;
    const listed = await cli(['list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${webhookId} +http://127\\.0\\.0\\.1:\\d+/hooks +install\\.created,install\\.deleted +yes`));
    const shown = await cli(['show', webhookId, '--json']);
    assert.deepEqual((JSON.parse(shown.stdout) as { events: string[] }).events, ['install.created', 'install.deleted']);
  });

  it('update --disable / --enable, rotate-secret prints the new secret, deliveries and retry work the log', async () => {
    const disabled = await cli(['update', webhookId, '--disable']);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /enabled: +no \(operator\)/);
    assert.equal((await cli(['update', webhookId, '--enable', '--disable'])).code, 2, 'both flags are a usage error');
    assert.equal((await cli(['update', webhookId, '--enable'])).code, 0);

    const rotated = await cli(['rotate-secret', webhookId]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = /whsec_[A-Za-z0-9+/=]+/.exec(rotated.stdout)?.[0];
    assert.ok(fresh && fresh !== secrets[0]);
    secrets.push(fresh);

    receiver.reply({ status: 503, body: 'busy' });
    await patchbay.patchbay.ctx.store.db.transaction().execute((trx) => emitWebhookEvent(trx, 'install.created', { id: 'ins_cli' }));
    await patchbay.patchbay.webhooks.runOnce();
    const log = await cli(['deliveries', webhookId]);
    assert.equal(log.code, 0, log.stderr);
    assert.match(log.stdout, /(whd_\w+) +install\.created +pending +1 +503/);
    const deliveryId = /(whd_\w+)/.exec(log.stdout)![1]!;
    const retried = await cli(['retry', webhookId, deliveryId]);
    assert.equal(retried.code, 0, retried.stderr);
    await patchbay.patchbay.webhooks.runOnce();
    assert.equal(verify(fresh, receiver.received.at(-1)!).data.id, 'ins_cli');
    assert.match((await cli(['deliveries', webhookId, '--status', 'succeeded'])).stdout, /install\.created +succeeded +2 +200/);
  });

  it('delete removes it, an unknown id exits 1 with the code, and no output after creation holds a secret', async () => {
    assert.equal((await cli(['delete', webhookId])).code, 0);
    const missing = await cli(['show', webhookId]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /webhook_not_found/);
    const [first, second] = secrets;
    const later = outputs.filter((output) => !output.includes('shown only now'));
    for (const secret of [first!, second!])
      assert.ok(!later.some((output) => output.includes(secret)), 'a secret in an output other than its own create or rotate');
  });
});
