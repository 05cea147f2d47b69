import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestPatchbay } from './support/harness.js';
import { auditActionsOf, type PartnerClient, startPartnerServer } from './support/partners.js';

/**
 * Partners: the operator side (listing, suspending, audit, keys as the operator sees them).
 */
describe('partners: the operator side', () => {
  let patchbay: TestPatchbay, operatorKey: string, client: PartnerClient;
  before(async () => ({ patchbay, operatorKey, client } = await startPartnerServer()));
  after(() => patchbay.close());

  describe('the operator side', () => {
    it('suspends a partner: its keys fail with partner_suspended, recorded as an auth event; reinstating brings them back', async () => {
      const { partnerId, key } = await client.onboard([{ pattern: 'app/order/*', send: true }]);
      assert.equal(((await (await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`)).json()) as { status: string }).status, 'suspended');
      const refused = await fetch(`${patchbay.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'app/order/created', payload: {} }),
      });
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'partner_suspended');
      await patchbay.patchbay.ctx.authEvents.flush();
      const events = await patchbay.patchbay.ctx.store.db.selectFrom('auth_events').selectAll().where('reason', '=', 'partner_suspended').execute();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.key_prefix, key.slice(0, 10));
      assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/reinstate`)).status, 200);
      const again = await fetch(`${patchbay.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'app/order/created', payload: {} }),
      });
      assert.equal(again.status, 201);
    });

    it('refuses a partner key it admitted a moment ago at the very next call once its grant is revoked or the partner suspended here', async () => {
      const { partnerId, key } = await client.onboard([]);
      const grant = await client.grant(partnerId, 'cached/*', { send: true });
      const publish = () =>
        fetch(`${patchbay.origin}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ topic: 'cached/thing', payload: {} }),
        });
      assert.equal((await publish()).status, 201, 'admitted, and now held for the key cache window');
      assert.equal((await client.asOperator('DELETE', `/v1/partners/${partnerId}/grants/${grant.id}`)).status, 204);
      const ungranted = await publish();
      assert.equal(ungranted.status, 403, 'the grant it held is gone at once');
      assert.equal(((await ungranted.json()) as { error: { code: string } }).error.code, 'insufficient_scope');
      await client.grant(partnerId, 'cached/*', { send: true });
      assert.equal((await publish()).status, 201, 'a new grant counts at once too');
      assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`)).status, 200);
      const suspended = await publish();
      assert.equal(suspended.status, 403);
      assert.equal(((await suspended.json()) as { error: { code: string } }).error.code, 'partner_suspended');
    });

    it('pages through a search with limit and cursor, each partner once, and fills pages under a tag filter', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++)
        made.push(
          (await client.createPartner({ appName: `Pager ${i}`, appDescription: 'zebra-search', metadata: { tags: i % 2 === 0 ? ['even-page'] : [] } })).id,
        );
      const walk = async (query: string) => {
        const seen: string[] = [];
        let cursor: string | null = '';
        let pages = 0;
        while (cursor !== null) {
          const page = (await (await client.asOperator('GET', `/v1/partners?${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
            data: Array<{ id: string }>;
            next: string | null;
          };
          assert.ok(page.data.length <= 2);
          seen.push(...page.data.map((partner) => partner.id));
          cursor = page.next;
          pages += 1;
        }
        return { seen, pages };
      };
      const bySearch = await walk('search=zebra-search');
      assert.deepEqual([...bySearch.seen].sort(), [...made].sort());
      assert.equal(bySearch.pages, 3);
      const byTag = await walk('search=zebra-search&tag=even-page');
      assert.deepEqual([...byTag.seen].sort(), [made[0], made[2], made[4]].sort());
      assert.equal(byTag.pages, 2, 'the first page is full although a tag filter skips rows');
      assert.equal((await client.asOperator('GET', '/v1/partners?limit=0')).status, 400);
      assert.equal((await client.asOperator('GET', '/v1/partners?status=deleted')).status, 400);
    });

    it('shows one partner with its grants and key prefixes, never a key', async () => {
      const { partnerId, key } = await client.onboard([{ pattern: 'app/order/*', send: true }]);
      const answer = await client.asOperator('GET', `/v1/partners/${partnerId}`);
      const text = await answer.text();
      assert.equal(answer.status, 200);
      assert.ok(!text.includes(key));
      const partner = JSON.parse(text) as { status: string; grants: Array<{ topic: string }>; keys: Array<{ environment: string; prefix: string }> };
      assert.equal(partner.status, 'active');
      assert.deepEqual(
        partner.grants.map((grant) => grant.topic),
        ['app/order/*'],
      );
      assert.deepEqual(
        partner.keys.map((row) => [row.environment, row.prefix]),
        [['prod', key.slice(0, 10)]],
      );
      assert.equal((await client.asOperator('GET', '/v1/partners/ptn_unknown')).status, 404);
    });

    it('lists partners with status, metadata and tags, filtered by status and tag', async () => {
      const tagged = await client.createPartner({ appName: 'Tagged', metadata: { tags: ['gold-tier'] } });
      const list = (await (await client.asOperator('GET', '/v1/partners?tag=gold-tier&status=invited')).json()) as {
        data: Array<{ id: string; status: string; tags: string[] }>;
      };
      assert.deepEqual(
        list.data.map((partner) => partner.id),
        [tagged.id],
      );
      assert.deepEqual(list.data[0]!.tags, ['gold-tier']);
    });

    it('grants and revokes topics; subscriptions must stay within the grants', async () => {
      const { partnerId, browser } = await client.onboard();
      const grant = await client.grant(partnerId, 'app/order/*', { receive: true });
      assert.equal((await browser.call('PUT', '/subscriptions', { publish: [], consume: ['app/order/created'] })).status, 200);
      assert.equal((await browser.call('PUT', '/subscriptions', { publish: ['app/order/created'], consume: [] })).status, 400, 'receive-only grant');
      assert.equal((await browser.call('PUT', '/subscriptions', { publish: [], consume: ['app/*/created'] })).status, 400, 'wider than the grant');
      assert.equal((await client.asOperator('DELETE', `/v1/partners/${partnerId}/grants/${grant.id}`)).status, 204);
      const state = (await (await browser.call('GET', '')).json()) as { data: { grants: unknown[] } };
      assert.deepEqual(state.data.grants, []);
      assert.equal((await client.asOperator('POST', `/v1/partners/${partnerId}/grants`, { pattern: 'App/Bad', send: true })).status, 400);
    });

    it('writes an audit entry for every change and every redemption', async () => {
      const { partnerId, browser } = await client.onboard();
      await browser.call('POST', '/keys/prod/rotate', { graceSeconds: 0 });
      await client.grant(partnerId, 'app/x/*', { send: true });
      await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`);
      assert.deepEqual(await auditActionsOf(patchbay, partnerId), [
        'partner.created',
        'partner.link_redeemed',
        'partner.key_created',
        'partner.key_rotated',
        'partner.topic_granted',
        'partner.suspended',
      ]);
    });

    it('audits links issued and revoked, details, subscriptions, grant revocations and reinstatement, naming the actor', async () => {
      const { partnerId, browser } = await client.onboard();
      const grant = await client.grant(partnerId, 'app/y/*', { receive: true });
      await browser.call('PATCH', '/partner', { appName: 'Renamed', contact: 'ops@renamed.example' });
      await browser.call('PUT', '/subscriptions', { publish: [], consume: ['app/y/*'] });
      await client.asOperator('DELETE', `/v1/partners/${partnerId}/grants/${grant.id}`);
      await client.asOperator('POST', `/v1/partners/${partnerId}/links`);
      const revoked = (await (await client.asOperator('POST', `/v1/partners/${partnerId}/links/revoke`)).json()) as { data: { revoked: number } };
      assert.equal(revoked.data.revoked, 1, 'the unused link is revoked, the used one left as it was');
      await client.asOperator('POST', `/v1/partners/${partnerId}/suspend`);
      await client.asOperator('POST', `/v1/partners/${partnerId}/reinstate`);
      const entries = await patchbay.patchbay.ctx.store.db
        .selectFrom('audit_entries')
        .select(['action', 'actor'])
        .where('target_id', '=', partnerId)
        .orderBy('id')
        .execute();
      assert.deepEqual(entries.map((entry) => entry.action).slice(3), [
        'partner.topic_granted',
        'partner.details_changed',
        'partner.subscriptions_changed',
        'partner.topic_revoked',
        'partner.link_issued',
        'partner.links_revoked',
        'partner.suspended',
        'partner.reinstated',
      ]);
      assert.ok(
        entries
          .filter((entry) => entry.action.startsWith('partner.details') || entry.action.startsWith('partner.subscriptions'))
          .every((entry) => entry.actor === `partner:${partnerId}`),
      );
      const operator = await patchbay.patchbay.ctx.store.db
        .selectFrom('access_keys')
        .select('id')
        .where('key_prefix', '=', operatorKey.slice(0, 10))
        .executeTakeFirstOrThrow();
      const operatorActions = [
        'partner.topic_granted',
        'partner.topic_revoked',
        'partner.link_issued',
        'partner.links_revoked',
        'partner.suspended',
        'partner.reinstated',
      ];
      assert.ok(
        entries.filter((entry) => operatorActions.includes(entry.action)).every((entry) => entry.actor === operator.id),
        'operator changes name the operator’s key',
      );
      assert.ok(!JSON.stringify(entries).includes('pbl_'), 'no link code in the audit trail');
    });

    it('keeps partner keys, link codes and portal cookies out of every log line and every error', async () => {
      const partner = await client.createPartner();
      const browser = client.portal();
      assert.equal((await browser.call('POST', '/redeem', { code: partner.code })).status, 200);
      const replay = await browser.call('POST', '/redeem', { code: partner.code });
      const replayBody = await replay.text();
      const created = await browser.call('POST', '/keys/dev', {});
      const { key } = ((await created.json()) as { data: { key: string } }).data;
      const wrongKey = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
      const refused = await fetch(`${patchbay.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${wrongKey}`, 'content-type': 'application/json' },
        body: '{"topic":"app/a/b","payload":1}',
      });
      const refusedBody = await refused.text();
      const cookie = browser.cookie.split('=')[1]!;
      const logs = patchbay.logs.text;
      for (const secret of [partner.code, key, cookie, wrongKey]) {
        assert.ok(!logs.includes(secret), 'not in the logs');
        assert.ok(!replayBody.includes(secret) && !refusedBody.includes(secret), 'not in an error');
      }
      assert.ok(!(await (await browser.call('GET', '')).text()).includes(key), 'not in a later answer');
    });
  });
});
