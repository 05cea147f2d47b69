/** Partner keys: one per environment, shown once, rotated with a grace period, checked on every call. */
import type { AppContext } from '../context.js';
import { writeAudit } from '../audit/service.js';
import { accessKeyPrefix, generateSecret, isWellFormedSecret, PARTNER_KEY_PREFIX } from '../crypto/access-key.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { newId } from '../crypto/random.js';
import { conflict } from '../http/errors.js';
import type { PartnerKeysTable } from '../store/schema.js';
import { isoIn, isoNow } from '../store/time.js';
import type { PartnerEnvironment } from './schema.js';
import { type GrantView, toGrantView } from './views.js';
import { grantsOf } from './grants.js';

export function activeKeys(rows: PartnerKeysTable[], now = isoNow()): PartnerKeysTable[] {
  return rows.filter((row) => row.expires_at === null || row.expires_at > now);
}

/**
 * A partner key for one environment, shown once. Creating needs no key there yet; rotating keeps
 * the current key working for the grace period, then it fails with key_expired.
 */
export async function issuePartnerKey(
  deps: Pick<AppContext, 'store' | 'hashingKey' | 'partnerKeys'>,
  partnerId: string,
  environment: PartnerEnvironment,
  rotation: { graceSeconds: number } | null,
): Promise<string> {
  const key = generateSecret(PARTNER_KEY_PREFIX);
  await deps.store.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('partner_keys')
      .select('id')
      .where('partner_id', '=', partnerId)
      .where('environment', '=', environment)
      .where('expires_at', 'is', null)
      .execute();
    if (rotation === null && current.length > 0) throw conflict('key_exists', `There is a ${environment} key already; rotate it instead.`);
    if (rotation !== null && current.length === 0) throw conflict('no_key', `There is no ${environment} key to rotate yet.`);
    if (rotation !== null) {
      await trx
        .updateTable('partner_keys')
        .set({ expires_at: isoIn(rotation.graceSeconds) })
        .where(
          'id',
          'in',
          current.map((row) => row.id),
        )
        .execute();
    }
    const id = newId('ppk');
    await trx
      .insertInto('partner_keys')
      .values({
        id,
        partner_id: partnerId,
        environment,
        key_prefix: accessKeyPrefix(key),
        secret_hash: hmacSha256(deps.hashingKey, key),
        created_at: isoNow(),
        expires_at: null,
        last_authenticated_at: null,
      })
      .execute();
    await writeAudit(trx, {
      actor: `partner:${partnerId}`,
      action: rotation ? 'partner.key_rotated' : 'partner.key_created',
      targetType: 'partner',
      targetId: partnerId,
      details: { environment, keyId: id, ...(rotation ? { graceSeconds: rotation.graceSeconds } : {}) },
    });
  });
  // A rotation gave the current key an end: the next use reads it.
  deps.partnerKeys.forget();
  return key;
}

export type PartnerKeyCheck =
  | { ok: true; partnerId: string; keyId: string; keyPrefix: string; environment: PartnerEnvironment; grants: GrantView[]; expiresAt: string | null }
  | { ok: false; reason: 'invalid_credentials' | 'key_expired' | 'partner_suspended'; keyId: string | null; keyPrefix: string | null };

/** How often `last_authenticated_at` is written per key: within a minute is precise enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Checks a partner key: format first (no lookup for typos), then the store, expiry and the partner's status. */
export async function verifyPartnerKey(deps: Pick<AppContext, 'store' | 'hashingKey'>, presented: string): Promise<PartnerKeyCheck> {
  if (!isWellFormedSecret(PARTNER_KEY_PREFIX, presented)) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
  return checkPartnerKey(deps, { secretHash: hmacSha256(deps.hashingKey, presented), presentedPrefix: accessKeyPrefix(presented) });
}

/**
 * The same checks for a key already accepted, by id: an open event stream asks again now and then,
 * so a suspension, an ended grace period or a revoked grant also ends streams opened before it.
 */
export async function recheckPartnerKey(deps: Pick<AppContext, 'store'>, keyId: string): Promise<PartnerKeyCheck> {
  return checkPartnerKey(deps, { keyId, presentedPrefix: null });
}

async function checkPartnerKey(
  deps: Pick<AppContext, 'store'>,
  by: { secretHash?: string; keyId?: string; presentedPrefix: string | null },
): Promise<PartnerKeyCheck> {
  let select = deps.store.db
    .selectFrom('partner_keys')
    .innerJoin('partners', 'partners.id', 'partner_keys.partner_id')
    .select([
      'partner_keys.id',
      'partner_keys.partner_id',
      'partner_keys.environment',
      'partner_keys.key_prefix',
      'partner_keys.expires_at',
      'partner_keys.last_authenticated_at',
      'partners.status',
    ]);
  select = by.secretHash !== undefined ? select.where('partner_keys.secret_hash', '=', by.secretHash) : select.where('partner_keys.id', '=', by.keyId ?? '');
  const row = await select.executeTakeFirst();
  if (!row) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: by.presentedPrefix };
  const now = isoNow();
  if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'key_expired', keyId: row.id, keyPrefix: row.key_prefix };
  if (row.status === 'suspended') return { ok: false, reason: 'partner_suspended', keyId: row.id, keyPrefix: row.key_prefix };
  if (by.secretHash !== undefined && (row.last_authenticated_at === null || Date.parse(row.last_authenticated_at) < Date.now() - LAST_USED_RESOLUTION_MS)) {
    // Conditional, so parallel requests (or instances) write it once and never move it backwards.
    const stale = new Date(Date.now() - LAST_USED_RESOLUTION_MS).toISOString();
    await deps.store.db
      .updateTable('partner_keys')
      .set({ last_authenticated_at: now })
      .where('id', '=', row.id)
      .where((eb) => eb.or([eb('last_authenticated_at', 'is', null), eb('last_authenticated_at', '<', stale)]))
      .execute();
  }
  const grants = (await grantsOf(deps, row.partner_id)).filter((grant) => grant.environment === '*' || grant.environment === row.environment).map(toGrantView);
  return { ok: true, partnerId: row.partner_id, keyId: row.id, keyPrefix: row.key_prefix, environment: row.environment, grants, expiresAt: row.expires_at };
}
