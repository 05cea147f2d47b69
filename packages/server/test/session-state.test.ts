import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedFrom, assertTransition, nextStatuses, TRANSITIONS, TransitionRefused } from '../src/sessions/state.js';

/**
 * The install session's state machine (src/sessions/state.ts) as a table. A change to the table
 * changes what the database lets a session do; these tests make that change a deliberate one.
 */
describe('the session state machine', () => {
  it('allows exactly these moves from each status', () => {
    assert.deepEqual(Object.fromEntries(Object.keys(TRANSITIONS).map((from) => [from, nextStatuses(from as keyof typeof TRANSITIONS).sort()])), {
      created: ['cancelled', 'started'],
      started: ['authorized', 'cancelled', 'configuring', 'failed', 'started'],
      configuring: ['authorized', 'cancelled', 'configuring'],
      authorized: ['committed'],
      cancelled: ['started'],
      failed: ['started'],
      committed: [],
      expired: [],
    });
  });

  it('says what causes every move', () => {
    for (const [from, moves] of Object.entries(TRANSITIONS)) {
      for (const [to, cause] of Object.entries(moves)) assert.ok(typeof cause === 'string' && cause.length > 10, `${from} → ${to} has no cause`);
    }
  });

  it('derives the guard’s from-states for each target from the table (expired never moves)', () => {
    assert.deepEqual(allowedFrom('started').sort(), ['cancelled', 'created', 'failed', 'started']);
    assert.deepEqual(allowedFrom('cancelled').sort(), ['configuring', 'created', 'started']);
    assert.deepEqual(allowedFrom('authorized').sort(), ['configuring', 'started']);
    assert.deepEqual(allowedFrom('committed'), ['authorized']);
    assert.deepEqual(allowedFrom('created'), []);
  });

  it('refuses a move the table does not allow, naming from and to', () => {
    assert.doesNotThrow(() => assertTransition('authorized', 'committed'));
    for (const [from, to] of [
      ['committed', 'started'],
      ['expired', 'cancelled'],
      ['authorized', 'cancelled'],
      ['failed', 'authorized'],
    ] as const) {
      assert.throws(
        () => assertTransition(from, to),
        (error: unknown) => error instanceof TransitionRefused && error.from === from && error.to === to && error.message.includes(`from ${from} to ${to}`),
      );
    }
  });
});
