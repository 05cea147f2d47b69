import { createHmac, timingSafeEqual } from 'node:crypto';

/** Secrets (access keys, session tokens, one-time states) are stored only as this keyed hash. */
export function hmacSha256(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
