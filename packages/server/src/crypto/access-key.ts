import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { bytesToBigInt, decodeBase62, encodeBase62 } from './base62.js';

/**
 * Access key format: `pbk_` + 22 base62 characters (128 random bits) + 6 base62 characters of the
 * CRC32 of the random part. The checksum lets us reject typos and truncations before any
 * database lookup (GitHub's token format does the same); it is not a security boundary.
 */
export const ACCESS_KEY_PREFIX = 'pbk_';
/** The same format for partners' keys (`pbp_`) and one-time partner link codes (`pbl_`). */
export const PARTNER_KEY_PREFIX = 'pbp_';
export const PARTNER_LINK_PREFIX = 'pbl_';
type SecretPrefix = typeof ACCESS_KEY_PREFIX | typeof PARTNER_KEY_PREFIX | typeof PARTNER_LINK_PREFIX;
const RANDOM_LENGTH = 22;
const CHECKSUM_LENGTH = 6;
export const ACCESS_KEY_LENGTH = ACCESS_KEY_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
const BODY = /^[0-9A-Za-z]{28}$/;

function checksumOf(randomPart: string): string {
  return encodeBase62(BigInt(crc32(randomPart)), CHECKSUM_LENGTH);
}

/** A new secret with the given prefix: 128 random bits in base62, then the CRC32 checksum. */
export function generateSecret(prefix: SecretPrefix): string {
  const randomPart = encodeBase62(bytesToBigInt(randomBytes(16)), RANDOM_LENGTH);
  return `${prefix}${randomPart}${checksumOf(randomPart)}`;
}

/** True only for a well-formed secret with this prefix whose checksum matches. Never throws. */
export function isWellFormedSecret(prefix: SecretPrefix, candidate: unknown): candidate is string {
  if (typeof candidate !== 'string' || candidate.length !== ACCESS_KEY_LENGTH || !candidate.startsWith(prefix)) return false;
  const body = candidate.slice(prefix.length);
  if (!BODY.test(body)) return false;
  const randomPart = body.slice(0, RANDOM_LENGTH);
  if (decodeBase62(randomPart) === null) return false;
  return checksumOf(randomPart) === body.slice(RANDOM_LENGTH);
}

export function generateAccessKey(): string {
  return generateSecret(ACCESS_KEY_PREFIX);
}

/** True only for a well-formed key whose checksum matches. Never throws, whatever the input. */
export function isWellFormedAccessKey(candidate: unknown): candidate is string {
  return isWellFormedSecret(ACCESS_KEY_PREFIX, candidate);
}

/** The part of a key that may be shown in lists and logs: enough to recognise it, useless to attack. */
export function accessKeyPrefix(key: string): string {
  return key.slice(0, ACCESS_KEY_PREFIX.length + 6);
}
