import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { decryptCredentials } from '../src/connections/credentials.js';
import { createConnection } from '../src/connections/service.js';
import type { MasterKey } from '../src/crypto/envelope.js';
import { createLogger, createPatchbay, type Patchbay } from '../src/index.js';
import { createAccessKey } from '../src/keys/service.js';
import { closeServer, dropTestSchema, listenOnLoopback, testConfig } from './support/harness.js';
import { LogCapture } from './support/log-capture.js';

const OLD: MasterKey = { id: 'old', key: randomBytes(32) };
const NEW: MasterKey = { id: 'new', key: randomBytes(32) };
const CLIENT_SECRET = 'client-secret-before-rotation-8c1f';
const BEARER = 'tenant-bearer-before-rotation-51d0';

/** Every ciphertext the store holds, with where it is. */
async function storedCiphertexts(patchbay: Patchbay): Promise<Array<{ where: string; keyId: string }>> {
  const { db } = patchbay.ctx.store;
  const found = [
    ...(await db.selectFrom('server_secrets').select(['name', 'ciphertext']).execute()).map((row) => [`server_secrets ${row.name}`, row.ciphertext] as const),
    ...(await db.selectFrom('connectors').select(['slug', 'client_secret_ciphertext']).execute()).map(
      (row) => [`connectors ${row.slug}`, row.client_secret_ciphertext] as const,
    ),
    ...(await db.selectFrom('connections').select(['id', 'credentials_ciphertext']).execute()).map(
      (row) => [`connections ${row.id}`, row.credentials_ciphertext] as const,
    ),
  ];
  return found.filter(([, ciphertext]) => ciphertext !== null).map(([where, ciphertext]) => ({ where, keyId: ciphertext!.split('.')[1]! }));
}

describe('master key rotation', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-rotation-'));
  // One database for the three starts: before, during and after the rotation.
  const base = testConfig({ publicUrl: 'http://127.0.0.1:1', dataDir });
  const start = (masterKeys: MasterKey[], logs = new LogCapture()) => createPatchbay({ ...base, masterKeys }, { logger: createLogger('info', logs) });
  after(async () => {
    await dropTestSchema(base);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('re-encrypts every stored secret with the new key at start-up, so the old key can then be dropped', async () => {
    // Before: secrets sealed with the old key (the hashing and signing keys, a connector's client
    // secret created through the API, a tenant's credentials).
    const before = await start([OLD]);
    const http = await listenOnLoopback();
    http.server.on('request', before.app);
    const { key: adminKey } = await createAccessKey(before.ctx, { name: 'rotation-admin', scopes: ['admin'] });
    const created = await fetch(`${http.origin}/v1/connectors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Rotating CRM',
        baseUrl: 'https://crm.example.com/api',
        authMethods: [
          { type: 'oauth2', authorizationUrl: 'https://crm.example.com/a', tokenUrl: 'https://crm.example.com/t', clientId: 'c', clientSecret: CLIENT_SECRET },
        ],
      }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { slug } = (await created.json()) as { slug: string };
    const connectionId = await createConnection(before.ctx, { connector: slug, tenantId: 'tenant-r', credentials: { type: 'bearer', token: BEARER } });
    await closeServer(http.server);
    const sealedBefore = await storedCiphertexts(before);
    assert.ok(sealedBefore.length >= 4, `secrets to rotate: ${JSON.stringify(sealedBefore)}`);
    assert.ok(
      sealedBefore.every(({ keyId }) => keyId === 'old'),
      JSON.stringify(sealedBefore),
    );
    await before.close();

    // The old key dropped too early: the start stops and says which key to add back.
    await assert.rejects(start([NEW]), (error: Error) => error.name === 'ConfigError' && /sealed with master key "old"/.test(error.message));

    // During: the new key first, the old one still listed. Start-up re-encrypts.
    const logs = new LogCapture();
    const during = await start([NEW, OLD], logs);
    const sealedDuring = await storedCiphertexts(during);
    assert.deepEqual(
      sealedDuring.filter(({ keyId }) => keyId !== 'new'),
      [],
      'every ciphertext is sealed with the new key',
    );
    assert.equal(sealedDuring.length, sealedBefore.length, 'nothing was dropped or added');
    const line = logs.lines
      .map((text) => JSON.parse(text) as { msg: string; reencrypted?: number })
      .find((entry) => entry.msg.startsWith('master key rotation'));
    assert.equal(line?.reencrypted, sealedBefore.length, 'the log says how many were re-encrypted');
    assert.ok(!logs.text.includes(CLIENT_SECRET) && !logs.text.includes(BEARER), 'no secret in the log');
    await during.close();

    // After: the old key is gone; everything still opens, and the access key made before still works.
    const afterRotation = await start([NEW]);
    const row = await afterRotation.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', connectionId).executeTakeFirstOrThrow();
    assert.deepEqual(decryptCredentials(afterRotation.ctx, row), { type: 'bearer', token: BEARER });
    assert.equal(await afterRotation.ctx.catalog.clientSecret(slug), CLIENT_SECRET);
    const verdict = await afterRotation.ctx.keys.verifyKey(adminKey);
    assert.equal(verdict.ok, true, 'the hashing key survived: keys made before the rotation still verify');
    await afterRotation.close();

    // A later start finds nothing stale and writes nothing.
    const quietLogs = new LogCapture();
    const again = await start([NEW], quietLogs);
    assert.ok(!quietLogs.text.includes('master key rotation'), 'no re-encryption the second time');
    await again.close();
  });
});
