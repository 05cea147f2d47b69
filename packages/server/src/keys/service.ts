import { type Kysely, sql } from 'kysely';
import { writeAudit } from '../audit/service.js';
import { accessKeyPrefix, generateAccessKey, isWellFormedAccessKey } from '../crypto/access-key.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { newId } from '../crypto/random.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { AccessKeysTable, Database } from '../store/schema.js';
import type { AppContext } from '../context.js';
import { containsText } from '../store/like.js';
import { isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { type AccessKeyRecord, toKeyRecord, type VerifyResult } from './record.js';
import { MAX_GRACE_SECONDS } from './schema.js';
import type { Scope } from './scopes.js';
import { findKeyRowBySecret } from './verifier.js';
import { pageOf } from '../store/page.js';

export { SCOPES, type Scope } from './scopes.js';
export type { AccessKeyRecord } from './record.js';

/** The CLI acts as `cli` in audit entries; HTTP callers as their key id. */
export type Actor = string;

export interface CreateKeyInput {
  name: string;
  description?: string | null;
  scopes: Scope[];
  tenantId?: string | null;
  ipAllowlist?: string[] | null;
  expiresAt?: string | null;
  actor?: Actor;
}

async function insertKey(db: Kysely<Database>, hashingKey: Buffer, input: CreateKeyInput & { rolledFrom?: string | null }) {
  const key = generateAccessKey();
  const row: AccessKeysTable = {
    id: newId('key'),
    name: input.name,
    description: input.description ?? null,
    key_prefix: accessKeyPrefix(key),
    secret_hash: hmacSha256(hashingKey, key),
    scopes: JSON.stringify([...new Set(input.scopes)].sort()),
    tenant_id: input.tenantId ?? null,
    ip_allowlist: input.ipAllowlist && input.ipAllowlist.length > 0 ? JSON.stringify(input.ipAllowlist) : null,
    created_at: isoNow(),
    expires_at: input.expiresAt ?? null,
    inactive_at: null,
    last_authenticated_at: null,
    rolled_from: input.rolledFrom ?? null,
  };
  const inserted = await db
    .insertInto('access_keys')
    .values(row)
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) throw conflict('name_taken', `An access key named "${input.name}" exists already.`);
  return { key, record: toKeyRecord(row) };
}

/** The audit trail records what a key may do, never the key or its hash. */
function auditView(record: AccessKeyRecord) {
  return {
    name: record.name,
    description: record.description,
    keyPrefix: record.keyPrefix,
    scopes: record.scopes,
    tenantId: record.tenantId,
    ipAllowlist: record.ipAllowlist,
    expiresAt: record.expiresAt,
  };
}

/** Creates a key; the plain key is returned here and nowhere else, ever. */
export async function createAccessKey(
  deps: Pick<AppContext, 'store' | 'hashingKey'>,
  input: CreateKeyInput,
): Promise<{ key: string; record: AccessKeyRecord }> {
  return deps.store.db.transaction().execute(async (trx) => {
    const created = await insertKey(trx, deps.hashingKey, input);
    await writeAudit(trx, {
      actor: input.actor ?? 'system',
      action: 'key.created',
      targetType: 'access_key',
      targetId: created.record.id,
      details: auditView(created.record),
    });
    return created;
  });
}

export async function findAccessKeyByName(deps: Pick<AppContext, 'store'>, name: string): Promise<AccessKeyRecord | null> {
  const row = await deps.store.db.selectFrom('access_keys').selectAll().where('name', '=', name).executeTakeFirst();
  return row ? toKeyRecord(row) : null;
}

export async function getAccessKey(deps: Pick<AppContext, 'store'>, id: string): Promise<AccessKeyRecord> {
  const row = await deps.store.db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('key_not_found', 'No such access key.');
  return toKeyRecord(row);
}

export async function listAccessKeys(
  deps: Pick<AppContext, 'store'>,
  query: { search?: string | undefined; active?: boolean | undefined; tenantId?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ data: AccessKeyRecord[]; next: string | null }> {
  let select = deps.store.db.selectFrom('access_keys').selectAll();
  if (query.search) {
    const search = query.search;
    select = select.where((eb) => eb.or([containsText(sql.ref('name'), search), eb('key_prefix', '=', search)]));
  }
  if (query.active === true) select = select.where('inactive_at', 'is', null);
  if (query.active === false) select = select.where('inactive_at', 'is not', null);
  if (query.tenantId) select = select.where('tenant_id', '=', query.tenantId);
  if (query.cursor) select = select.where('id', '>', query.cursor);
  const rows = await select
    .orderBy('id')
    .limit(query.limit + 1)
    .execute();
  return pageOf(rows, query.limit, toKeyRecord);
}

/**
 * A key's tenant is fixed once set (Fuuz: "Cannot change after creation"): moving a live secret to
 * another tenant, or widening it to every tenant, would hand it data it was never issued for. A key
 * made without a tenant may be narrowed to one, once: that only takes reach away.
 */
const tenantImmutable = (tenantId: string) =>
  badRequest(
    'tenant_immutable',
    `tenantId: this key belongs to tenant "${tenantId}" and its tenant cannot change. Create a new key for the other tenant (POST /v1/keys) and inactivate this one; rolling it (POST /v1/keys/{keyId}/roll) replaces its secret but keeps its tenant.`,
  );

export async function updateAccessKey(
  deps: Pick<AppContext, 'store'>,
  id: string,
  changes: { description?: string | null; scopes?: Scope[]; tenantId?: string | null; ipAllowlist?: string[] | null; expiresAt?: string | null },
  actor: Actor,
): Promise<AccessKeyRecord> {
  return deps.store.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!before) throw notFound('key_not_found', 'No such access key.');
    const set: Partial<AccessKeysTable> = {};
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.scopes !== undefined) set.scopes = JSON.stringify([...new Set(changes.scopes)].sort());
    if (changes.tenantId !== undefined && changes.tenantId !== before.tenant_id) {
      if (before.tenant_id !== null) throw tenantImmutable(before.tenant_id);
      set.tenant_id = changes.tenantId;
    }
    if (changes.ipAllowlist !== undefined)
      set.ip_allowlist = changes.ipAllowlist && changes.ipAllowlist.length > 0 ? JSON.stringify(changes.ipAllowlist) : null;
    if (changes.expiresAt !== undefined) set.expires_at = changes.expiresAt;
    if (Object.keys(set).length === 0) return toKeyRecord(before);
    const after = await trx.updateTable('access_keys').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await writeAudit(trx, {
      actor,
      action: 'key.updated',
      targetType: 'access_key',
      targetId: id,
      details: { before: auditView(toKeyRecord(before)), after: auditView(toKeyRecord(after)) },
    });
    return toKeyRecord(after);
  });
}

/** Keys are inactivated, never deleted: the audit history keeps pointing at them. */
export async function setAccessKeyActive(deps: Pick<AppContext, 'store'>, id: string, active: boolean, actor: Actor): Promise<AccessKeyRecord> {
  return deps.store.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('access_keys').select('inactive_at').where('id', '=', id).executeTakeFirst();
    const row = await trx
      .updateTable('access_keys')
      .set({ inactive_at: active ? null : isoNow() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!before || !row) throw notFound('key_not_found', 'No such access key.');
    await writeAudit(trx, {
      actor,
      action: active ? 'key.reactivated' : 'key.inactivated',
      targetType: 'access_key',
      targetId: id,
      details: { name: row.name, keyPrefix: row.key_prefix, changes: { active: { before: before.inactive_at === null, after: active } } },
    });
    if (!active) await emitWebhookEvent(trx, 'key.inactivated', toKeyRecord(row));
    return toKeyRecord(row);
  });
}

/** `SAP-Production-OrderSync` rolls to `SAP-Production-OrderSync-r2`, then `-r3`, … */
export function rolledName(name: string): string {
  const match = /^(.*)-r(\d+)$/.exec(name);
  return match ? `${match[1]}-r${Number(match[2]) + 1}` : `${name}-r2`;
}

/**
 * Rollover: a new key with the same scopes and restrictions; the old one keeps working until the
 * grace period ends (0 = now), then fails with key_expired. Both writes and the audit entry commit together.
 */
export async function rollAccessKey(
  deps: Pick<AppContext, 'store' | 'hashingKey'>,
  id: string,
  gracePeriodSeconds: number,
  actor: Actor,
): Promise<{ key: string; record: AccessKeyRecord; previous: AccessKeyRecord }> {
  if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0 || gracePeriodSeconds > MAX_GRACE_SECONDS) {
    throw badRequest('invalid_request', `gracePeriodSeconds must be a whole number from 0 to ${MAX_GRACE_SECONDS}.`);
  }
  return deps.store.db.transaction().execute(async (trx) => {
    const old = await trx.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!old) throw notFound('key_not_found', 'No such access key.');
    if (old.inactive_at !== null) throw conflict('key_inactive', 'An inactive key cannot be rolled; reactivate it or create a new key.');
    if (old.expires_at !== null && Date.parse(old.expires_at) <= Date.now())
      throw conflict('key_expired', 'An expired key cannot be rolled; create a new key.');
    const previous = toKeyRecord(old);
    const graceEnds = new Date(Date.now() + gracePeriodSeconds * 1000).toISOString();
    // Never extend an expiry the old key already had.
    const oldExpiry = old.expires_at && old.expires_at < graceEnds ? old.expires_at : graceEnds;
    const created = await insertKey(trx, deps.hashingKey, {
      name: rolledName(old.name),
      description: old.description,
      scopes: previous.scopes,
      tenantId: old.tenant_id,
      ipAllowlist: previous.ipAllowlist,
      expiresAt: old.expires_at,
      rolledFrom: old.id,
    });
    const updated = await trx.updateTable('access_keys').set({ expires_at: oldExpiry }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await writeAudit(trx, {
      actor,
      action: 'key.rolled',
      targetType: 'access_key',
      targetId: id,
      details: { newKeyId: created.record.id, oldKeyExpiresAt: oldExpiry, gracePeriodSeconds },
    });
    await writeAudit(trx, {
      actor,
      action: 'key.created',
      targetType: 'access_key',
      targetId: created.record.id,
      details: { ...auditView(created.record), rolledFrom: id },
    });
    return { key: created.key, record: created.record, previous: toKeyRecord(updated) };
  });
}

/** State checks that apply to a key however it was presented (the key itself or a token made from it). */
export function checkKeyState(row: AccessKeysTable, now = Date.now()): VerifyResult {
  if (row.inactive_at !== null) return { ok: false, reason: 'key_inactive', keyId: row.id, keyPrefix: row.key_prefix };
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now) return { ok: false, reason: 'key_expired', keyId: row.id, keyPrefix: row.key_prefix };
  return { ok: true, key: toKeyRecord(row) };
}

export async function verifyAccessKey(deps: Pick<AppContext, 'store' | 'hashingKey'>, presented: string, now = Date.now()): Promise<VerifyResult> {
  if (!isWellFormedAccessKey(presented)) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
  const row = await findKeyRowBySecret(deps, presented);
  if (!row) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: accessKeyPrefix(presented) };
  return checkKeyState(row, now);
}

export { recordAuthEvent } from './auth-events.js';
