/**
 * The formats every other shape is made of, defined once: the server validates with them, the
 * mocks make values with them, and the widget's types name them.
 */
import { z } from 'zod';

/** Base62: ids, keys and tokens are made of these characters only (URL-safe, no padding). */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** One base62 character, for building patterns. */
export const BASE62_PATTERN = '[0-9A-Za-z]';

/** `length` random base62 characters (Web Crypto: the same in Node and the browser). */
export function randomBase62(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  // 256 % 62 leaves a slight bias: fine for mocks' ids, never used for a secret on the server.
  return Array.from(bytes, (byte) => BASE62_ALPHABET[byte % 62]).join('');
}

/** A random id: the type prefix and 22 base62 characters (≥128 bits when made by the server). */
export const ID_RANDOM_LENGTH = 22;
const idPattern = (prefix: string) => new RegExp(`^${prefix}_${BASE62_PATTERN}{${ID_RANDOM_LENGTH}}$`);

export const SESSION_ID = idPattern('ses');
export const CONNECTION_ID = idPattern('con');

export const sessionIdSchema = z.string().regex(SESSION_ID, 'not a session id');
export const connectionIdSchema = z.string().regex(CONNECTION_ID, 'not a connection id');

/** The browser-held secret for one session starts with the session id, like a Stripe client secret. */
export const SESSION_TOKEN_SEPARATOR = '_secret_';

/**
 * Topics are slash-separated lowercase segments (`app/order/created`). Patterns use `*` for exactly
 * one segment (`app/order/*`). Grants hold patterns; an event's topic never contains `*`.
 */
const SEGMENT = '[a-z0-9][a-z0-9_.-]{0,62}';
export const TOPIC = new RegExp(`^${SEGMENT}(/${SEGMENT}){1,7}$`);
export const TOPIC_PATTERN = new RegExp(`^(${SEGMENT}|\\*)(/(${SEGMENT}|\\*)){1,7}$`);
export const topicPatternSchema = z.string().regex(TOPIC_PATTERN, 'a topic or pattern like app/order/*');

/** Whether everything `inner` can match is matched by `outer` (a subscription within a grant). */
export function patternCovers(outer: string, inner: string): boolean {
  const wide = outer.split('/');
  const narrow = inner.split('/');
  return wide.length === narrow.length && wide.every((segment, index) => segment === '*' || segment === narrow[index]);
}
