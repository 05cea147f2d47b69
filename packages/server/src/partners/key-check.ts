/**
 * Checking a presented partner key: typed by the store and the hashing key alone (no service, no
 * AppContext), so the key cache (verifier.ts) that the context holds imports nothing that imports
 * the context back.
 */
import { accessKeyPrefix, isWellFormedSecret, PARTNER_KEY_PREFIX } from '../crypto/access-key.js';
import { hmacSha256 } from '../crypto/hmac.js';
import type { TopicGrantsTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { isoNow } from '../store/time.js';
import type { PartnerEnvironment } from './schema.js';
import { type GrantView, toGrantView } from './views.js';

/** A partner's topic grants, every environment. */
export async function grantsOf(deps: { store: Store }, partnerId: string): Promise<TopicGrantsTable[]> {
  return deps.store.db.selectFrom('topic_grants').selectAll().where('partner_id', '=', partnerId).orderBy('pattern').orderBy('environment').execute();
}

export type PartnerKeyCheck =
  | { ok: true; partnerId: string; keyId: string; keyPrefix: string; environment: PartnerEnvironment; grants: GrantView[]; expiresAt: string | null }
  | { ok: false; reason: 'invalid_credentials' | 'key_expired' | 'partner_suspended'; keyId: string | null; keyPrefix: string | null };

/** How often `last_authenticated_at` is written per key: within a minute is precise enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Checks a partner key: format first (no lookup for typos), then the store, expiry and the partner's status. */
export async function verifyPartnerKey(deps: { store: Store; hashingKey: Buffer }, presented: string): Promise<PartnerKeyCheck> {
  if (!isWellFormedSecret(PARTNER_KEY_PREFIX, presented)) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
  return checkPartnerKey(deps, { secretHash: hmacSha256(deps.hashingKey, presented), presentedPrefix: accessKeyPrefix(presented) });
}

/**
 * The same checks for a key already accepted, by id: an open event stream asks again now and then,
 * so a suspension, an ended grace period or a revoked grant also ends streams opened before it.
 */
export async function recheckPartnerKey(deps: { store: Store }, keyId: string): Promise<PartnerKeyCheck> {
  return checkPartnerKey(deps, { keyId, presentedPrefix: null });
}

async function checkPartnerKey(deps: { store: Store }, by: { secretHash?: string; keyId?: string; presentedPrefix: string | null }): Promise<PartnerKeyCheck> {
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
