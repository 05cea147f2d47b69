import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ACCESS_KEY_LENGTH,
  ACCESS_KEY_PREFIX,
  accessKeyPrefix,
  generateAccessKey,
  generateSecret,
  isWellFormedAccessKey,
  PARTNER_KEY_PREFIX,
  PARTNER_LINK_PREFIX,
} from '../src/crypto/access-key.js';
import { constantTimeEqual } from '../src/crypto/hmac.js';
import { newId, random128, RANDOM_128_LENGTH } from '../src/crypto/random.js';

/*
 * An independent model of the documented format, so the tests do not trust the code under test:
 * `pbk_` + 22 base62 characters (a 128-bit number, big-endian digits) + 6 base62 characters of the
 * IEEE CRC32 of those 22 characters.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function toBase62(value: bigint, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[Number(value % 62n)]! + out;
    value /= 62n;
  }
  assert.equal(value, 0n, 'value fits the width');
  return out;
}

function fromBase62(text: string): bigint {
  let value = 0n;
  for (const char of text) value = value * 62n + BigInt(BASE62.indexOf(char));
  return value;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function modelKey(randomBytes: Uint8Array): string {
  const value = BigInt(`0x${Buffer.from(randomBytes).toString('hex') || '0'}`);
  const body = toBase62(value, 22);
  return `pbk_${body}${toBase62(BigInt(crc32(body)), 6)}`;
}

function modelIsWellFormed(candidate: string): boolean {
  if (!/^pbk_[0-9A-Za-z]{28}$/.test(candidate)) return false;
  const body = candidate.slice(4, 26);
  return toBase62(BigInt(crc32(body)), 6) === candidate.slice(26);
}

const modelKeys = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(modelKey);
/** Keys from the real generator and from the model, so both must satisfy every property. */
const validKeys = fc.oneof(
  modelKeys,
  fc.constant(null).map(() => generateAccessKey()),
);
const OTHER_CHARS = `${BASE62}_-. `;

describe('access keys', () => {
  it('are pbk_ followed by 28 base62 characters, and every generated key passes the format check', () => {
    assert.equal(ACCESS_KEY_PREFIX, 'pbk_');
    assert.equal(ACCESS_KEY_LENGTH, 32);
    for (let i = 0; i < 2000; i++) {
      const key = generateAccessKey();
      assert.match(key, /^pbk_[0-9A-Za-z]{28}$/);
      assert.equal(isWellFormedAccessKey(key), true, key);
      assert.equal(modelIsWellFormed(key), true, `${key} follows the documented CRC32 format`);
    }
  });

  it('accept every 128-bit value, including the extremes, when its checksum is right', () => {
    fc.assert(
      fc.property(modelKeys, (key) => {
        assert.equal(isWellFormedAccessKey(key), true, key);
      }),
      { numRuns: 1000, examples: [[modelKey(new Uint8Array(16))], [modelKey(new Uint8Array(16).fill(0xff))]] },
    );
  });

  /** Every one of 128 bits is 1 in some sample and 0 in another, and no sample repeats. */
  function assertCarries128RandomBits(name: string, randomParts: string[]) {
    assert.equal(new Set(randomParts).size, randomParts.length, `${name}: no random part repeats`);
    let everSet = 0n;
    let everClear = 0n;
    const all = (1n << 128n) - 1n;
    for (const part of randomParts) {
      const value = fromBase62(part);
      assert.ok(value <= all, `${name}: ${part} holds at most 128 bits`);
      everSet |= value;
      everClear |= all & ~value;
    }
    assert.equal(everSet, all, `${name}: each of the 128 bits is 1 in some sample`);
    assert.equal(everClear, all, `${name}: each of the 128 bits is 0 in some sample`);
  }

  it('carry at least 128 random bits: 22 base62 characters in which every one of 128 bits varies, never repeating', () => {
    assert.ok(62n ** 22n >= 2n ** 128n, '22 base62 characters can hold 128 bits');
    const sample = Array.from({ length: 5000 }, () => generateAccessKey());
    assert.equal(new Set(sample).size, sample.length, 'no key repeats');
    assertCarries128RandomBits(
      'access keys',
      sample.map((key) => key.slice(4, 26)),
    );
  });

  it('partner keys, one-time partner link codes, session tokens and OAuth states carry 128 random bits too', () => {
    for (const prefix of [PARTNER_KEY_PREFIX, PARTNER_LINK_PREFIX] as const) {
      assertCarries128RandomBits(
        prefix,
        Array.from({ length: 5000 }, () => generateSecret(prefix).slice(prefix.length, prefix.length + 22)),
      );
    }
    // Session tokens end in one random128(); an OAuth state is two of them (256 bits).
    const sample = Array.from({ length: 5000 }, () => random128());
    assert.ok(sample.every((part) => part.length === RANDOM_128_LENGTH && /^[0-9A-Za-z]+$/.test(part)));
    assertCarries128RandomBits('random128', sample);
  });

  it('record ids (drawn from a pool of random bytes) carry 128 random bits, never repeating, across many refills of the pool', () => {
    // 5 000 ids span some twenty refills of the 4 KiB pool: a byte handed out twice would repeat an id.
    const sample = Array.from({ length: 5000 }, () => newId('evt'));
    assert.equal(new Set(sample).size, sample.length, 'no id repeats');
    assert.ok(sample.every((id) => /^evt_[0-9A-Za-z]{22}$/.test(id)));
    assertCarries128RandomBits(
      'newId',
      sample.map((id) => id.slice(4)),
    );
  });

  it('compares secrets in constant time: equal only for the same bytes, unequal lengths refused without throwing', () => {
    const digest = 'Zm9vYmFyYmF6cXV4cXV1eGZvb2Jhcg';
    assert.equal(constantTimeEqual(digest, digest.slice()), true);
    assert.equal(constantTimeEqual(digest, `${digest.slice(0, -1)}h`), false, 'last character differs');
    assert.equal(constantTimeEqual(digest, `X${digest.slice(1)}`), false, 'first character differs');
    assert.equal(constantTimeEqual(digest, digest.slice(0, -1)), false, 'shorter');
    assert.equal(constantTimeEqual(digest, `${digest}A`), false, 'longer');
    assert.equal(constantTimeEqual('', ''), true);
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => constantTimeEqual(a, b) === (a === b)));
  });

  describe('the format check rejects typos before any lookup', () => {
    it('rejects every single-character substitution at every position', () => {
      fc.assert(
        fc.property(validKeys, (key) => {
          assert.equal(isWellFormedAccessKey(key), true);
          for (let position = 0; position < key.length; position++) {
            for (const char of OTHER_CHARS) {
              if (char === key[position]) continue;
              const typo = key.slice(0, position) + char + key.slice(position + 1);
              assert.equal(isWellFormedAccessKey(typo), false, `${typo} (position ${position})`);
            }
          }
        }),
        { numRuns: 150 },
      );
    });

    it('rejects every truncation, from either end', () => {
      fc.assert(
        fc.property(validKeys, (key) => {
          for (let length = 0; length < key.length; length++) {
            assert.equal(isWellFormedAccessKey(key.slice(0, length)), false, key.slice(0, length));
            assert.equal(isWellFormedAccessKey(key.slice(key.length - length)), false, key.slice(key.length - length));
          }
        }),
        { numRuns: 200 },
      );
    });

    it('rejects every single-character deletion', () => {
      fc.assert(
        fc.property(validKeys, (key) => {
          for (let position = 0; position < key.length; position++) {
            const typo = key.slice(0, position) + key.slice(position + 1);
            assert.equal(isWellFormedAccessKey(typo), false, typo);
          }
        }),
        { numRuns: 200 },
      );
    });

    it('rejects any character appended, prepended or inserted, including whitespace and newlines', () => {
      fc.assert(
        fc.property(validKeys, (key) => {
          for (const char of [...OTHER_CHARS, '\n', '\r', '\t', '\0']) {
            assert.equal(isWellFormedAccessKey(key + char), false, JSON.stringify(key + char));
            assert.equal(isWellFormedAccessKey(char + key), false, JSON.stringify(char + key));
            for (let position = 1; position < key.length; position++) {
              const typo = key.slice(0, position) + char + key.slice(position);
              assert.equal(isWellFormedAccessKey(typo), false, JSON.stringify(typo));
            }
          }
        }),
        { numRuns: 40 },
      );
    });

    it('rejects swapped neighbours inside the random part and inside the checksum', () => {
      fc.assert(
        fc.property(validKeys, (key) => {
          for (let position = 4; position < key.length - 1; position++) {
            if (position === 25 || key[position] === key[position + 1]) continue; // 25↔26 straddles random part and checksum
            const typo = key.slice(0, position) + key[position + 1] + key[position] + key.slice(position + 2);
            assert.equal(isWellFormedAccessKey(typo), false, typo);
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('the format check never throws', () => {
    it('answers false for any value that is not a string', () => {
      fc.assert(
        fc.property(
          fc.anything({
            withBigInt: true,
            withBoxedValues: true,
            withMap: true,
            withSet: true,
            withTypedArray: true,
            withSparseArray: true,
            withNullPrototype: true,
          }),
          (value) => {
            fc.pre(typeof value !== 'string');
            assert.equal(isWellFormedAccessKey(value), false);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('answers false for hostile objects: boxed keys, throwing coercions and revoking proxies', () => {
      const key = generateAccessKey();
      const throwing = {
        toString: () => {
          throw new Error('toString');
        },
        [Symbol.toPrimitive]: () => {
          throw new Error('toPrimitive');
        },
      };
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      const trap = new Proxy(
        {},
        {
          get: () => {
            throw new Error('get');
          },
          getPrototypeOf: () => {
            throw new Error('proto');
          },
        },
      );
      for (const value of [new String(key), [key], { key }, throwing, proxy, trap, Symbol(key), undefined, null]) {
        assert.equal(isWellFormedAccessKey(value), false);
      }
    });

    it('agrees with the documented format for any string: ASCII, Unicode, and pbk_-prefixed noise', () => {
      const candidates = fc.oneof(
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: fc.constantFrom(...BASE62), minLength: 28, maxLength: 28 }).map((body) => `pbk_${body}`),
        fc.string({ unit: 'binary', minLength: 28, maxLength: 28 }).map((body) => `pbk_${body}`),
        fc.string({ unit: fc.constantFrom('\uD800', '\uDC00', '０', 'ａ', 'İ', 'K', ...BASE62), minLength: 28, maxLength: 28 }).map((body) => `pbk_${body}`),
      );
      fc.assert(
        fc.property(candidates, (candidate) => {
          assert.equal(isWellFormedAccessKey(candidate), modelIsWellFormed(candidate), JSON.stringify(candidate));
        }),
        { numRuns: 3000 },
      );
    });
  });

  describe('the display prefix', () => {
    it('shows only the first 10 characters: pbk_ and 6 characters of the random part', () => {
      fc.assert(
        fc.property(validKeys, (key) => {
          const shown = accessKeyPrefix(key);
          assert.equal(shown, key.slice(0, 10));
          assert.equal(shown.length, 10);
          assert.ok(!shown.includes(key.slice(10)), 'no more than 10 characters are shown');
        }),
        { numRuns: 300 },
      );
    });
  });
});
