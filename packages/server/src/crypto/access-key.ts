import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { bytesToBigInt, decodeBase62, encodeBase62 } from './base62.js';

/**
 * Access key format: `pbk_` + 22 base62 characters (128 random bits) + 6 base62 characters of the
 * CRC32 of the random part. The checksum lets us reject typos and truncations before any
 * database lookup (GitHub's token format does the same); it is not a security boundary.
 */
export const ACCESS_KEY_PREFIX = 'pbk_';
const RANDOM_LENGTH = 22;
const CHECKSUM_LENGTH = 6;
export const ACCESS_KEY_LENGTH = ACCESS_KEY_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
const SHAPE = /^pbk_[0-9A-Za-z]{28}$/;

function checksumOf(randomPart: string): string {
  return encodeBase62(BigInt(crc32(randomPart)), CHECKSUM_LENGTH);
}

export function generateAccessKey(): string {
  const randomPart = encodeBase62(bytesToBigInt(randomBytes(16)), RANDOM_LENGTH);
  return `${ACCESS_KEY_PREFIX}${randomPart}${checksumOf(randomPart)}`;
}

/** True only for a well-formed key whose checksum matches. Never throws, whatever the input. */
export function isWellFormedAccessKey(candidate: unknown): candidate is string {
  if (typeof candidate !== 'string' || !SHAPE.test(candidate)) return false;
  const randomPart = candidate.slice(ACCESS_KEY_PREFIX.length, ACCESS_KEY_PREFIX.length + RANDOM_LENGTH);
  const checksum = candidate.slice(ACCESS_KEY_PREFIX.length + RANDOM_LENGTH);
  if (decodeBase62(randomPart) === null) return false;
  return checksumOf(randomPart) === checksum;
}

/** The part of a key that may be shown in lists and logs: enough to recognise it, useless to attack. */
export function accessKeyPrefix(key: string): string {
  return key.slice(0, ACCESS_KEY_PREFIX.length + 6);
}
