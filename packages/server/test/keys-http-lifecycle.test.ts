import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestPatchbay } from './support/harness.js';
import { type Api, assertError, assertNoLeaks, createKeyOverHttp, keyIdOf, type KeyView, SecretWatch } from './support/keys.js';

/** Every key, hash, answer and log line of this file, searched for secrets at the end. */
const watch = new SecretWatch();

/**
 * Access keys over HTTP: the key lifecycle over /v1/keys (create, read, list, change, inactivate,
 * audit, auth events).
 */
describe('access keys over HTTP: lifecycle', () => {
  describe('key lifecycle over /v1/keys', () => {
    let patchbay: TestPatchbay;
    let api: Api;
    let admin: string;
    let adminId: string;

    before(async () => {
      ({ patchbay, api, admin } = await watch.startServer('the lifecycle server', 'lifecycle-admin'));
      adminId = await keyIdOf(patchbay, 'lifecycle-admin');
    });

    after(() => watch.closeServer(patchbay));

    const secretHashOf = async (id: string) =>
      (await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('secret_hash').where('id', '=', id).executeTakeFirstOrThrow()).secret_hash;

    it('creates a key (201) whose plain key is in the create answer only, never in a read, a list or the audit trail', async () => {
      const response = await api('/v1/keys', {
        method: 'POST',
        auth: admin,
        body: {
          name: 'SAP-Production-OrderSync',
          description: 'order sync',
          scopes: ['installs:write', 'installs:read'],
          tenantId: 'acme',
          ipAllowlist: ['127.0.0.0/8'],
        },
      });
      assert.equal(response.status, 201, response.text);
      const created = response.json as KeyView & { key: string };
      watch.handedOut(response, created.key, 'SAP-Production-OrderSync');
      assert.match(created.key, /^pbk_[0-9A-Za-z]{28}$/);
      assert.equal(created.keyPrefix, created.key.slice(0, 10));
      assert.deepEqual(
        {
          name: created.name,
          description: created.description,
          scopes: created.scopes,
          tenantId: created.tenantId,
          ipAllowlist: created.ipAllowlist,
          active: created.active,
          expiresAt: created.expiresAt,
          lastAuthenticatedAt: created.lastAuthenticatedAt,
        },
        {
          name: 'SAP-Production-OrderSync',
          description: 'order sync',
          scopes: ['installs:read', 'installs:write'],
          tenantId: 'acme',
          ipAllowlist: ['127.0.0.0/8'],
          active: true,
          expiresAt: null,
          lastAuthenticatedAt: null,
        },
      );
      const hash = await secretHashOf(created.id);
      assert.ok(!response.text.includes(hash), 'not even the create answer holds the hash');
      assert.equal((await api('/v1/whoami', { auth: created.key })).status, 200, 'the key works');

      const later = [
        await api(`/v1/keys/${created.id}`, { auth: admin }),
        await api('/v1/keys?limit=100', { auth: admin }),
        await api(`/v1/keys?search=${created.keyPrefix}`, { auth: admin }),
        await api(`/v1/audit?resourceId=${created.id}`, { auth: admin }),
      ];
      for (const answer of later) {
        assert.equal(answer.status, 200, answer.text);
        assert.ok(!answer.text.includes(created.key.slice(10)), 'no later answer holds the key');
        assert.ok(!answer.text.includes(hash), 'no answer holds the stored hash');
        assert.ok(!/"key"\s*:/.test(answer.text), 'no later answer has a key field');
        assert.ok(!/secret/i.test(answer.text), 'nor any secret field');
      }
      const read = later[0]!.json as KeyView;
      assert.equal(read.id, created.id);
      assert.ok(
        (later[2]!.json as { data: KeyView[] }).data.some((key) => key.id === created.id),
        'found by its prefix',
      );
    });

    it('answers a duplicate name with 409 name_taken and keeps one key', async () => {
      await createKeyOverHttp(api, admin, { name: 'Unique-Name', scopes: ['installs:read'] }, watch);
      assertError(await api('/v1/keys', { method: 'POST', auth: admin, body: { name: 'Unique-Name', scopes: ['admin'] } }), 409, 'name_taken');
      const rows = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select(['id', 'scopes']).where('name', '=', 'Unique-Name').execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.scopes, '["installs:read"]', 'the first key is unchanged');
    });

    it('answers an unknown field with 400 naming it, and writes nothing', async () => {
      const response = await api('/v1/keys', { method: 'POST', auth: admin, body: { name: 'with-extra', scopes: ['installs:read'], superuser: true } });
      const body = assertError(response, 400, 'invalid_request');
      assert.match(body.error.message, /superuser/);
      assert.equal(await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').where('name', '=', 'with-extra').executeTakeFirst(), undefined);
    });

    it('answers bad input with 400 invalid_request, never a 500, and writes nothing', async () => {
      const cases: Array<[string, unknown]> = [
        ['a name with a slash', { name: 'bad/name', scopes: ['installs:read'] }],
        ['an empty name', { name: '', scopes: ['installs:read'] }],
        ['a name of 101 characters', { name: `a${'b'.repeat(100)}`, scopes: ['installs:read'] }],
        ['an unknown scope', { name: 'bad-scope', scopes: ['root'] }],
        ['no scopes', { name: 'no-scopes', scopes: [] }],
        ['scopes missing', { name: 'missing-scopes' }],
        ['a CIDR with a /33', { name: 'bad-cidr', scopes: ['installs:read'], ipAllowlist: ['10.0.0.0/33'] }],
        ['a hostname as CIDR', { name: 'host-cidr', scopes: ['installs:read'], ipAllowlist: ['example.com'] }],
        ['an expiry in the past', { name: 'past-expiry', scopes: ['installs:read'], expiresAt: '2001-01-01T00:00:00Z' }],
        ['an expiry that is not a date', { name: 'odd-expiry', scopes: ['installs:read'], expiresAt: 'tomorrow' }],
        ['a body that is an array', [{ name: 'array-body', scopes: ['installs:read'] }]],
      ];
      const before = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').execute();
      for (const [what, body] of cases) assertError(await api('/v1/keys', { method: 'POST', auth: admin, body }), 400, 'invalid_request', what);
      assertError(await api('/v1/keys', { method: 'POST', auth: admin, body: '{"name":' }), 400, 'invalid_json', 'broken JSON');
      const afterwards = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').execute();
      assert.equal(afterwards.length, before.length, 'no key was written');
    });

    it('expands the read-only shorthand to the read scopes only', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'reader', scopes: ['read-only'] }, watch);
      assert.deepEqual(record.scopes, ['connectors:read', 'events:consume', 'installs:read', 'webhooks:read']);
      assert.ok(!record.scopes.some((scope) => /write|publish|admin/.test(scope)), 'no write scope');
      assert.equal((await api('/v1/integrations', { auth: key })).status, 200, 'reads work');
      assertError(await api('/v1/integrations/any/session', { method: 'POST', auth: key, body: { tenantId: 't' } }), 403, 'insufficient_scope');
      assertError(await api('/v1/keys', { auth: key }), 403, 'insufficient_scope');
    });

    it('pages through the list with limit and cursor, each key exactly once, next null at the end', async () => {
      const ids = new Set<string>();
      for (let n = 1; n <= 5; n++) ids.add((await createKeyOverHttp(api, admin, { name: `Paged-${n}`, scopes: ['installs:read'] }, watch)).record.id);
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/v1/keys?search=Paged-&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await api(query, { auth: admin });
        assert.equal(page.status, 200, page.text);
        const body = page.json as { data: KeyView[]; next: string | null };
        sizes.push(body.data.length);
        seen.push(...body.data.map((key) => key.id));
        cursor = body.next;
      } while (cursor !== null && sizes.length < 10);
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.equal(seen.length, new Set(seen).size, 'no key twice');
      assert.deepEqual(new Set(seen), ids);
      assertError(await api('/v1/keys?limit=0', { auth: admin }), 400, 'invalid_request');
      assertError(await api('/v1/keys?limit=101', { auth: admin }), 400, 'invalid_request');
    });

    it('searches by name fragment and by key prefix, and filters inactive keys', async () => {
      const { record: a } = await createKeyOverHttp(api, admin, { name: 'Search-Alpha-Sync', scopes: ['installs:read'] }, watch);
      const { record: b } = await createKeyOverHttp(api, admin, { name: 'Search-Beta-Sync', scopes: ['installs:read'] }, watch);
      const names = async (query: string) => ((await api(`/v1/keys?${query}`, { auth: admin })).json as { data: KeyView[] }).data.map((key) => key.name).sort();
      assert.deepEqual(await names('search=Search-'), ['Search-Alpha-Sync', 'Search-Beta-Sync']);
      assert.deepEqual(await names('search=Alpha'), ['Search-Alpha-Sync'], 'a fragment');
      assert.deepEqual(await names(`search=${b.keyPrefix}`), ['Search-Beta-Sync'], 'by prefix');
      assert.deepEqual(await names('search=no-such-key'), []);
      await api(`/v1/keys/${a.id}/inactivate`, { method: 'POST', auth: admin });
      assert.deepEqual(await names('search=Search-&active=false'), ['Search-Alpha-Sync']);
      assert.deepEqual(await names('search=Search-&active=true'), ['Search-Beta-Sync']);
    });

    it('searches for % and _ as ordinary characters: a name with an underscore is found, a lone % finds nothing', async () => {
      await createKeyOverHttp(api, admin, { name: 'Order_Sync_Job', scopes: ['installs:read'] }, watch);
      const names = async (search: string) =>
        ((await api(`/v1/keys?search=${encodeURIComponent(search)}`, { auth: admin })).json as { data: KeyView[] }).data.map((key) => key.name);
      assert.deepEqual(await names('Order_Sync'), ['Order_Sync_Job'], 'the underscore in the search is part of the name');
      assert.deepEqual(await names('%'), [], 'no key name holds a %');
    });

    it('changes scopes and restrictions with PATCH, takes effect at once, and audits before/after with the acting key', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'Patched', scopes: ['installs:read', 'installs:write'] }, watch);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200, 'works (and is cached) before the change');
      const patched = await api(`/v1/keys/${record.id}`, {
        method: 'PATCH',
        auth: admin,
        body: { scopes: ['installs:read'], tenantId: 'tenant-p', ipAllowlist: ['10.0.0.0/8'], description: 'narrowed' },
      });
      assert.equal(patched.status, 200, patched.text);
      const after = patched.json as KeyView;
      assert.deepEqual([after.scopes, after.tenantId, after.ipAllowlist, after.description], [['installs:read'], 'tenant-p', ['10.0.0.0/8'], 'narrowed']);
      assertError(await api('/v1/whoami', { auth: key }), 403, 'ip_restricted', 'the new allowlist applies at once');

      const audit = await api(`/v1/audit?resourceId=${record.id}&action=key.updated`, { auth: admin });
      const entries = (audit.json as { data: Array<{ actor: string; action: string; details: { before: KeyView; after: KeyView } }> }).data;
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.actor, adminId, 'the acting key is the actor');
      assert.deepEqual(entries[0]!.details.before.scopes, ['installs:read', 'installs:write']);
      assert.deepEqual(entries[0]!.details.after.scopes, ['installs:read']);
      assert.deepEqual([entries[0]!.details.before.tenantId, entries[0]!.details.after.tenantId], [null, 'tenant-p']);
      assert.deepEqual(entries[0]!.details.after.ipAllowlist, ['10.0.0.0/8']);

      const cleared = await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { ipAllowlist: null } });
      assert.equal((cleared.json as KeyView).ipAllowlist, null);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200, 'clearing the allowlist applies at once');

      assertError(
        await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { name: 'renamed' } }),
        400,
        'invalid_request',
        'the name is not changeable',
      );
      assertError(await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: {} }), 400, 'invalid_request', 'an empty change');
    });

    it('inactivates and reactivates a key, and has no DELETE: the key and its history stay', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'Kept-Forever', scopes: ['installs:read'] }, watch);
      const inactive = await api(`/v1/keys/${record.id}/inactivate`, { method: 'POST', auth: admin });
      assert.equal((inactive.json as KeyView).active, false);
      assert.equal(((await api(`/v1/keys/${record.id}`, { auth: admin })).json as KeyView).active, false);
      assertError(await api('/v1/whoami', { auth: key }), 401, 'key_inactive');
      assert.equal(((await api(`/v1/keys/${record.id}/reactivate`, { method: 'POST', auth: admin })).json as KeyView).active, true);
      assert.equal((await api('/v1/whoami', { auth: key })).status, 200);

      assertError(await api(`/v1/keys/${record.id}`, { method: 'DELETE', auth: admin }), 404, 'route_not_found');
      assert.equal((await api(`/v1/keys/${record.id}`, { auth: admin })).status, 200, 'the key still exists');

      for (const [method, path] of [
        ['GET', ''],
        ['PATCH', ''],
        ['POST', '/inactivate'],
        ['POST', '/reactivate'],
        ['POST', '/roll'],
      ] as const) {
        const body = method === 'PATCH' ? { description: 'x' } : method === 'POST' ? {} : undefined;
        assertError(await api(`/v1/keys/key_DoesNotExist0000000000${path}`, { method, auth: admin, body }), 404, 'key_not_found', `${method} ${path}`);
      }
    });

    it('writes every change to a key into GET /v1/audit, newest first, with the acting key as actor', async () => {
      const { record } = await createKeyOverHttp(api, admin, { name: 'Audited', scopes: ['installs:read'] }, watch);
      await api(`/v1/keys/${record.id}`, { method: 'PATCH', auth: admin, body: { scopes: ['installs:read', 'connectors:read'] } });
      await api(`/v1/keys/${record.id}/inactivate`, { method: 'POST', auth: admin });
      await api(`/v1/keys/${record.id}/reactivate`, { method: 'POST', auth: admin });
      const rolled = await api(`/v1/keys/${record.id}/roll`, { method: 'POST', auth: admin, body: { gracePeriodSeconds: 60 } });
      assert.equal(rolled.status, 201, rolled.text);
      const successor = rolled.json as KeyView & { key: string };
      watch.handedOut(rolled, successor.key, 'Audited-r2');

      const audit = await api(`/v1/audit?resourceType=access_key&resourceId=${record.id}`, { auth: admin });
      const entries = (audit.json as { data: Array<{ actor: string; action: string; details: Record<string, unknown> }> }).data;
      assert.deepEqual(
        entries.map((entry) => entry.action),
        ['key.rolled', 'key.reactivated', 'key.inactivated', 'key.updated', 'key.created'],
      );
      assert.ok(
        entries.every((entry) => entry.actor === adminId),
        JSON.stringify(entries.map((entry) => entry.actor)),
      );
      assert.equal(entries[0]!.details.newKeyId, successor.id);

      const successorAudit = (
        (await api(`/v1/audit?resourceId=${successor.id}`, { auth: admin })).json as {
          data: Array<{ actor: string; action: string; details: Record<string, unknown> }>;
        }
      ).data;
      assert.deepEqual(
        successorAudit.map((entry) => [entry.action, entry.actor, entry.details.rolledFrom]),
        [['key.created', adminId, record.id]],
      );

      const byActor = ((await api(`/v1/audit?actor=${adminId}&limit=100`, { auth: admin })).json as { data: Array<{ resourceId: string }> }).data;
      assert.ok(
        byActor.some((entry) => entry.resourceId === record.id),
        'filtered by actor',
      );
    });

    it('lists auth events filtered by key, outcome and reason, paginated', async () => {
      const { key, record } = await createKeyOverHttp(api, admin, { name: 'Event-Source', scopes: ['installs:read'] }, watch);
      for (let n = 0; n < 3; n++) assert.equal((await api('/v1/whoami', { auth: key })).status, 200);
      await api('/v1/keys', { auth: key });
      type EventPage = {
        data: Array<{ keyId: string; keyPrefix: string; outcome: string; reason: string | null; path: string; clientIp: string }>;
        next: string | null;
      };
      const successes = (await api(`/v1/auth-events?keyId=${record.id}&outcome=success`, { auth: admin })).json as EventPage;
      assert.equal(successes.data.length, 3);
      assert.ok(
        successes.data.every((event) => event.keyId === record.id && event.reason === null && event.path === '/v1/whoami' && event.clientIp === '127.0.0.1'),
      );
      const refused = (await api(`/v1/auth-events?keyId=${record.id}&reason=insufficient_scope`, { auth: admin })).json as EventPage;
      assert.deepEqual(
        refused.data.map((event) => [event.outcome, event.reason, event.keyPrefix, event.path]),
        [['failure', 'insufficient_scope', record.keyPrefix, '/v1/keys']],
      );
      const first = (await api(`/v1/auth-events?keyId=${record.id}&limit=2`, { auth: admin })).json as EventPage;
      assert.equal(first.data.length, 2);
      assert.ok(first.next);
      const second = (await api(`/v1/auth-events?keyId=${record.id}&limit=2&cursor=${first.next}`, { auth: admin })).json as EventPage;
      assert.equal(second.data.length, 2);
      assert.equal(second.next, null);
      const future = (await api(`/v1/auth-events?keyId=${record.id}&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { auth: admin }))
        .json as EventPage;
      assert.deepEqual(future.data, [], 'the time range filters');
      assertError(await api('/v1/auth-events?reason=made_up', { auth: admin }), 400, 'invalid_request');
    });
  });

  describe('secrets', () => {
    it('no plain key, stored hash, session token or JWT appears in any log line or in any answer after creation', () => {
      assertNoLeaks(watch, { secrets: 40, answers: 70, logLines: 70 });
    });
  });
});
