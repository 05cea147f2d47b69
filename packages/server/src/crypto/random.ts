import { randomBytes } from 'node:crypto';
import { formattedOncePerMillisecond } from '../store/time.js';
import { bytesToBigInt, encodeBase62 } from './base62.js';

/** 22 base62 characters hold 128 random bits (62^22 > 2^128). */
export const RANDOM_128_LENGTH = 22;

/** 16 random bytes as 22 base62 characters. */
const base62Of128 = (bytes: Uint8Array): string => encodeBase62(bytesToBigInt(bytes), RANDOM_128_LENGTH);

export function random128(): string {
  return base62Of128(randomBytes(16));
}

/**
 * Random bytes for record ids, drawn from the CSPRNG 4 KiB at a time, as `crypto.randomUUID` draws
 * its own: one call per 256 ids rather than one per id, which cost a twentieth of a publish. Each byte
 * is handed out once. Ids name records and grant nothing; secrets (`random128`, tokens, keys) keep a
 * call of their own, so no future secret waits in this buffer.
 */
const ID_POOL_BYTES = 4096;
let idPool = Buffer.alloc(0);
let idPoolAt = 0;

function idRandomBytes(): Buffer {
  if (idPoolAt + 16 > idPool.length) {
    idPool = randomBytes(ID_POOL_BYTES);
    idPoolAt = 0;
  }
  idPoolAt += 16;
  return idPool.subarray(idPoolAt - 16, idPoolAt);
}

/** A prefixed, unguessable identifier such as `ses_…` or `ins_…`. */
export function newId(prefix: string): string {
  return `${prefix}_${base62Of128(idRandomBytes())}`;
}

/** Random per process, so ids made by several server instances never collide. */
const PROCESS_TAG = randomBytes(6).toString('hex');
let sequence = 0;

/** The id's head (prefix, time, process tag) for the last prefix and millisecond an id was made in. */
let headMs = Number.NaN;
let headPrefix = '';
let head = '';

/**
 * An id that sorts by creation time, for logs listed newest first and paged by cursor (auth
 * events, audit entries): base36 milliseconds, this process's random tag, then a counter. Cheap on
 * purpose (no random bytes per id), since auth events make one per request; these ids are not secrets.
 * `now` lets a row's id and its timestamp name the same millisecond.
 */
export function newSortableId(prefix: string, now = Date.now()): string {
  sequence = (sequence + 1) % 2_176_782_336;
  // Several ids a millisecond on a busy server: their common head is put together once.
  if (now !== headMs || prefix !== headPrefix) {
    headMs = now;
    headPrefix = prefix;
    head = `${prefix}_${sortableIdTime(now)}${PROCESS_TAG}`;
  }
  return head + sequence.toString(36).padStart(6, '0');
}

const idTimeOf = formattedOncePerMillisecond((ms) => ms.toString(36).padStart(9, '0'));

/** The time part of a sortable id: ids made at or after `ms` sort at or after this prefix. */
export function sortableIdTime(ms: number): string {
  return idTimeOf(Math.max(0, Math.floor(ms)));
}
