import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newSortableId, sortableIdTime } from '../src/crypto/random.js';

/**
 * Sortable ids page the auth events and audit entries by cursor and bound their time ranges: an id
 * must carry its own prefix and the time it names, be unique, and sort in the order ids were made,
 * however many are made in one millisecond and whatever prefixes take turns in it.
 */
describe('sortable ids', () => {
  it('carry their prefix and the millisecond given, unique and in the order made, for any run of prefixes and times', () => {
    const step = fc.record({ prefix: fc.constantFrom('aev', 'aud', 'req', 'msg'), advance: fc.constantFrom(0, 0, 0, 1, 999, 1000) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        let now = Date.UTC(2026, 11, 4, 3, 24, 43, 998);
        const made = steps.map(({ prefix, advance }) => {
          now += advance;
          return { prefix, now, id: newSortableId(prefix, now) };
        });
        for (const { prefix, now, id } of made) assert.ok(id.startsWith(`${prefix}_${sortableIdTime(now)}`), `${id} names ${prefix} at ${now}`);
        assert.equal(new Set(made.map(({ id }) => id)).size, made.length, 'no id twice');
        for (const prefix of new Set(made.map((entry) => entry.prefix))) {
          const ids = made.filter((entry) => entry.prefix === prefix).map(({ id }) => id);
          assert.deepEqual([...ids].sort(), ids, `${prefix} ids sort in the order they were made`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('name the current millisecond when none is given', () => {
    const before = Date.now();
    const id = newSortableId('aev');
    const after = Date.now();
    assert.ok(id > `aev_${sortableIdTime(before)}` && id < `aev_${sortableIdTime(after + 1)}`, id);
  });
});
