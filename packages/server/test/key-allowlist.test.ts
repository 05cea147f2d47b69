import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowlistChecker, isAddressAllowed } from '../src/keys/ip.js';

/**
 * The allowlist check every request of a restricted key goes through parses a key's ranges once and
 * remembers its answers per address: what it remembers must never answer for another list, and
 * must stay right however many addresses ask.
 */
describe('the remembered IP allowlist check', () => {
  it('answers as isAddressAllowed does, the first time and every time after', () => {
    const isAllowed = allowlistChecker();
    const ranges = ['10.0.0.0/8', '::ffff:127.0.0.0/104', '2001:db8::/32', 'not-a-range'];
    const clients = ['10.1.2.3', '11.0.0.1', '127.0.0.1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '2001:db9::1', '::1', 'not-an-ip'];
    for (let pass = 0; pass < 3; pass++) {
      for (const client of clients) assert.equal(isAllowed(client, ranges), isAddressAllowed(client, ranges), `${client}, pass ${pass + 1}`);
    }
  });

  it('keeps the answers of one allowlist to that list: another list (a changed key) is asked afresh', () => {
    const isAllowed = allowlistChecker();
    const before = ['203.0.113.0/24'];
    const after = ['198.51.100.0/24'];
    assert.equal(isAllowed('203.0.113.7', before), true);
    assert.equal(isAllowed('203.0.113.7', after), false, 'the answer for the old list is not reused');
    assert.equal(isAllowed('198.51.100.7', after), true);
    assert.equal(isAllowed('198.51.100.7', before), false);
  });

  it('stays right when more addresses ask than it remembers', () => {
    const isAllowed = allowlistChecker();
    const ranges = ['10.0.0.0/16'];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 600; i++) {
        const inside = `10.0.${i % 256}.${i >> 8}`;
        const outside = `10.1.${i % 256}.${i >> 8}`;
        assert.equal(isAllowed(inside, ranges), true, inside);
        assert.equal(isAllowed(outside, ranges), false, outside);
      }
    }
  });

  it('refuses a request with no address', () => {
    assert.equal(allowlistChecker()(null, ['0.0.0.0/0']), false);
  });
});
