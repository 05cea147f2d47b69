/** Partner keys: one per environment, shown once, rotated with a grace period, checked on every call. */
import type { AppContext } from '../context.js';
import { writeAudit } from '../audit/service.js';
import { accessKeyPrefix, generateSecret, PARTNER_KEY_PREFIX } from '../crypto/access-key.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { newId } from '../crypto/random.js';
import { conflict } from '../http/errors.js';
import type { PartnerKeysTable } from '../store/schema.js';
import { isoIn, isoNow } from '../store/time.js';
import type { PartnerEnvironment } from './schema.js';

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
