import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditEntrySchema, auditPageSchema } from '../src/audit/schema.js';
import { writeAudit } from '../src/audit/service.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { apiClient, assertError, type Api } from './support/keys.js';

type Page = ReturnType<typeof auditPageSchema.parse>;

describe('GET /v1/audit: filters and paging', () => {
  let patchbay: TestPatchbay;
  let api: Api;
  let admin: string;
  /** Entries this file wrote itself, on a resource type of its own, so other entries never interfere. */
  const TYPE = 'query_probe';

  const page = async (query: string): Promise<Page> => {
    const answer = await api(`/v1/audit?${query}`, { auth: admin });
    assert.equal(answer.status, 200, answer.text);
    return auditPageSchema.parse(answer.json);
  };

  before(async () => {
    patchbay = await startPatchbay();
    api = apiClient(patchbay);
    admin = await patchbay.accessKey(['admin']);
    const db = patchbay.patchbay.ctx.store.db;
    // The helper's original signature (actor, action, targetType, targetId, details) keeps working.
    for (let index = 0; index < 7; index++) {
      await writeAudit(db, {
        actor: index % 2 === 0 ? 'key_even' : 'cli',
        action: 'probe.created',
        targetType: TYPE,
        targetId: `p${index}`,
        details: { index },
      });
    }
    await writeAudit(db, { actor: 'tenant:t1', via: 'ses_x', action: 'probe.updated', targetType: TYPE, targetId: 'p0' });
    await writeAudit(db, { actor: 'cli', action: 'probes.other', targetType: TYPE, targetId: 'p9' });
  });

  after(() => patchbay.close());

  it('answers the list envelope, newest first, each entry in the one documented shape', async () => {
    const { data, next } = await page(`resourceType=${TYPE}&limit=100`);
    assert.equal(next, null);
    assert.equal(data.length, 9);
    assert.deepEqual(
      data.map((entry) => entry.id),
      data
        .map((entry) => entry.id)
        .sort()
        .reverse(),
      'newest first',
    );
    for (const entry of data) assert.deepEqual(Object.keys(entry).sort(), Object.keys(auditEntrySchema.shape).sort());
    const updated = data.find((entry) => entry.action === 'probe.updated')!;
    assert.deepEqual([updated.actor, updated.via, updated.resourceType, updated.resourceId], ['tenant:t1', 'ses_x', TYPE, 'p0']);
  });

  it('pages with limit and cursor, every entry once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const result: Page = await page(`resourceType=${TYPE}&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(result.data.length <= 4);
      seen.push(...result.data.map((entry) => entry.id));
      cursor = result.next;
      pages += 1;
    }
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 9);
    assert.deepEqual(seen, [...seen].sort().reverse());
  });

  it('filters by resource id, actor, exact action and action prefix', async () => {
    assert.deepEqual(
      (await page(`resourceType=${TYPE}&resourceId=p0`)).data.map((entry) => entry.action),
      ['probe.updated', 'probe.created'],
    );
    assert.equal((await page(`resourceType=${TYPE}&actor=key_even`)).data.length, 4);
    assert.equal((await page(`resourceType=${TYPE}&action=probe.created`)).data.length, 7);
    const prefixed = (await page(`resourceType=${TYPE}&action=probe.`)).data;
    assert.equal(prefixed.length, 8, 'probe.* but not probes.other');
    assert.ok(prefixed.every((entry) => entry.action.startsWith('probe.')));
    assert.equal((await page(`resourceType=${TYPE}&action=prob_.`)).data.length, 0, 'an underscore is not a wildcard');
  });

  it('filters by time: from inclusive, to exclusive', async () => {
    const all = (await page(`resourceType=${TYPE}&limit=100`)).data;
    const oldest = all[all.length - 1]!.at;
    const later = new Date(Date.parse(oldest) + 1).toISOString();
    assert.equal((await page(`resourceType=${TYPE}&from=${encodeURIComponent(oldest)}&limit=100`)).data.length, 9);
    const before = (await page(`resourceType=${TYPE}&to=${encodeURIComponent(later)}&limit=100`)).data;
    assert.ok(before.length >= 1 && before.every((entry) => entry.at < later));
    assert.equal((await page(`resourceType=${TYPE}&from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`)).data.length, 0);
    assert.equal((await page(`resourceType=${TYPE}&from=${encodeURIComponent('2099-01-01T00:00:00+02:00')}`)).data.length, 0);
  });

  it('refuses bad filters with 400 naming the field, and an unknown one instead of ignoring it', async () => {
    const refused: Array<[query: string, field: string]> = [
      ['targetId=p0', 'targetId'],
      ['action=Probe', 'action'],
      ['from=yesterday', 'from'],
      ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
      ['limit=0', 'limit'],
      ['cursor=../../etc', 'cursor'],
    ];
    for (const [query, field] of refused) {
      const { error } = assertError(await api(`/v1/audit?${query}`, { auth: admin }), 400, 'invalid_request', query);
      assert.match(error.message, new RegExp(field), query);
    }
  });

  it('is for admin keys only', async () => {
    const host = await patchbay.accessKey(['sessions:write', 'installs:write', 'partners:write']);
    assertError(await api('/v1/audit', { auth: host }), 403, 'insufficient_scope');
    assertError(await api('/v1/audit', { auth: null }), 401, 'invalid_credentials');
  });
});
