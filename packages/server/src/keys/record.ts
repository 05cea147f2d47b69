/** An access key as the rest of the server sees it (never its secret or hash), and a lookup's verdict. */
import type { z } from 'zod';
import type { AccessKeysTable } from '../store/schema.js';
import type { accessKeySchema } from './schema.js';
import type { Scope } from './scopes.js';

export type AccessKeyRecord = z.output<typeof accessKeySchema>;

/** A presented key (or the key behind a token): found and usable, or why not. */
export type VerifyResult =
  | { ok: true; key: AccessKeyRecord }
  | { ok: false; reason: 'invalid_credentials' | 'key_inactive' | 'key_expired'; keyId: string | null; keyPrefix: string | null };

export function toKeyRecord(row: AccessKeysTable): AccessKeyRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description ?? null,
    keyPrefix: row.key_prefix,
    scopes: JSON.parse(row.scopes) as Scope[],
    tenantId: row.tenant_id,
    ipAllowlist: row.ip_allowlist ? (JSON.parse(row.ip_allowlist) as string[]) : null,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    active: row.inactive_at === null,
    lastAuthenticatedAt: row.last_authenticated_at,
    rolledFrom: row.rolled_from ?? null,
  };
}
