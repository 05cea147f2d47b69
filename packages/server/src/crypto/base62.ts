import { BASE62_ALPHABET as ALPHABET } from '@patchbay/contract';

export { BASE62_PATTERN } from '@patchbay/contract';

const BASE = 62n;

/** Fixed-width base62 of a non-negative integer, so every encoded value has the same length. */
export function encodeBase62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[Number(rest % BASE)] + out;
    rest /= BASE;
  }
  if (rest !== 0n) throw new RangeError('value does not fit the width');
  return out;
}

/** Returns null for any character outside the alphabet instead of throwing. */
export function decodeBase62(text: string): bigint | null {
  let value = 0n;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return null;
    value = value * BASE + BigInt(digit);
  }
  return value;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
