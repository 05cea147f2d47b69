import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request } from 'express';
import fc from 'fast-check';
import { bearerOf } from '../src/http/auth.js';

/** The rule the reader keeps, as the regular expression it replaced: it must accept and capture exactly this. */
const RULE = /^Bearer\s+(\S{1,4096})$/i;

const byRule = (header: string): string | null => RULE.exec(header)?.[1] ?? null;
const read = (authorization: string | undefined): string | null => bearerOf({ headers: { authorization } } as Request);

/** Headers near the rule's edges: the scheme in any case, every kind of white space, lengths around the limit. */
const WHITE_SPACE = [' ', '\t', '\n', '\v', '\f', '\r', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
const schemes = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'BeArEr', 'Bearer', 'Basic', 'Bear', 'Bearerx', 'Bеarer', '');
const gaps = fc.array(fc.constantFrom(...WHITE_SPACE), { maxLength: 3 }).map((chars) => chars.join(''));
const tokenChars = fc.oneof(fc.constantFrom('p', 'b', 'k', '_', '9', 'Z', '.', '-', '~', '\u00e9'), fc.constantFrom(...WHITE_SPACE));
const tokens = fc.oneof(
  fc.array(tokenChars, { maxLength: 40 }).map((chars) => chars.join('')),
  fc.integer({ min: 4090, max: 4100 }).map((length) => 'k'.repeat(length)),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const headers = fc.oneof(
  fc.tuple(schemes, gaps, tokens).map(([scheme, gap, token]) => scheme + gap + token),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

describe('reading the bearer credential of the Authorization header', () => {
  it('accepts and captures exactly what the rule does, for any header', () => {
    fc.assert(
      fc.property(headers, (header) => {
        assert.equal(read(header), byRule(header), JSON.stringify(header.slice(0, 60)));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads the usual header, and nothing from an absent or empty one', () => {
    assert.equal(read('Bearer pbk_abc'), 'pbk_abc');
    assert.equal(read('bearer \t pbk_abc'), 'pbk_abc');
    assert.equal(read('Bearer pbk_abc '), null, 'trailing white space');
    assert.equal(read('Bearer pbk abc'), null, 'white space inside the credential');
    assert.equal(read('Bearerpbk_abc'), null, 'no white space after the scheme');
    assert.equal(read(`Bearer ${'k'.repeat(4096)}`), 'k'.repeat(4096), 'the longest credential');
    assert.equal(read(`Bearer ${'k'.repeat(4097)}`), null, 'one character too long');
    assert.equal(read(''), null);
    assert.equal(read(undefined), null);
  });
});
