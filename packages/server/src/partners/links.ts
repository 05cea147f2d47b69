/** One-time partner links: issued with the code in the URL fragment, stored hashed, redeemed once. */
import { randomBytes } from 'node:crypto';
import { type Kysely } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context.js';
import { writeAudit } from '../audit/service.js';
import { generateSecret, isWellFormedSecret, PARTNER_LINK_PREFIX } from '../crypto/access-key.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { newId } from '../crypto/random.js';
import type { Database } from '../store/schema.js';
import { isoIn, isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { requirePartner } from './lookup.js';
import { toPartnerView } from './views.js';
import type { issuedLinkSchema, revokedLinksSchema } from './schema.js';

/** The partner's embedded URL: the code rides in the fragment, which browsers never send anywhere. */
export function linkUrl(deps: Pick<AppContext, 'config'>, code: string): string {
  return `${deps.config.publicUrl}/partner#code=${code}`;
}

export async function insertLink(deps: Pick<AppContext, 'hashingKey' | 'config'>, db: Kysely<Database>, partnerId: string): Promise<string> {
  const code = generateSecret(PARTNER_LINK_PREFIX);
  await db
    .insertInto('partner_links')
    .values({
      id: newId('pln'),
      partner_id: partnerId,
      code_hash: hmacSha256(deps.hashingKey, code),
      created_at: isoNow(),
      expires_at: isoIn(deps.config.partnerLinkTtlDays * 86_400),
      used_at: null,
      revoked_at: null,
    })
    .execute();
  return code;
}

/** A fresh link for an existing partner; earlier unused links keep working until they expire or are revoked. */
export async function issueLink(
  deps: Pick<AppContext, 'store' | 'hashingKey' | 'config'>,
  partnerId: string,
  actor: string,
): Promise<z.output<typeof issuedLinkSchema>['data']> {
  await requirePartner(deps, partnerId);
  const code = await deps.store.db.transaction().execute(async (trx) => {
    const issued = await insertLink(deps, trx, partnerId);
    await writeAudit(trx, { actor, action: 'partner.link_issued', targetType: 'partner', targetId: partnerId });
    return issued;
  });
  return { url: linkUrl(deps, code), expiresAt: isoIn(deps.config.partnerLinkTtlDays * 86_400) };
}

export async function revokeLinks(deps: Pick<AppContext, 'store'>, partnerId: string, actor: string): Promise<z.output<typeof revokedLinksSchema>['data']> {
  await requirePartner(deps, partnerId);
  return deps.store.db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('partner_links')
      .set({ revoked_at: isoNow() })
      .where('partner_id', '=', partnerId)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    await writeAudit(trx, { actor, action: 'partner.links_revoked', targetType: 'partner', targetId: partnerId });
    return { revoked: Number(result.numUpdatedRows) };
  });
}

/**
 * Redeems a link: one conditional UPDATE claims it, so of any number of concurrent redemptions
 * exactly one wins. Every failure (malformed, unknown, expired, used, revoked, suspended partner)
 * is the same null, so the answer says nothing about which codes exist.
 */
export async function redeemLink(
  deps: Pick<AppContext, 'store' | 'hashingKey' | 'config'>,
  code: string,
): Promise<{ partnerId: string; sessionToken: string; expiresAt: string } | null> {
  if (!isWellFormedSecret(PARTNER_LINK_PREFIX, code)) return null;
  const now = isoNow();
  return deps.store.db
    .transaction()
    .execute(async (trx) => {
      const link = await trx
        .updateTable('partner_links')
        .set({ used_at: now })
        .where('code_hash', '=', hmacSha256(deps.hashingKey, code))
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['id', 'partner_id'])
        .executeTakeFirst();
      if (!link) return null;
      const partner = await trx.selectFrom('partners').select(['id', 'status']).where('id', '=', link.partner_id).executeTakeFirstOrThrow();
      if (partner.status === 'suspended') throw new SuspendedRedemption();
      if (partner.status === 'invited') await trx.updateTable('partners').set({ status: 'active', updated_at: now }).where('id', '=', partner.id).execute();
      const sessionToken = randomBytes(32).toString('base64url');
      const expiresAt = isoIn(deps.config.portalSessionMinutes * 60);
      await trx
        .insertInto('portal_sessions')
        .values({ id: newId('pps'), partner_id: partner.id, token_hash: hmacSha256(deps.hashingKey, sessionToken), created_at: now, expires_at: expiresAt })
        .execute();
      await writeAudit(trx, {
        actor: `partner:${partner.id}`,
        action: 'partner.link_redeemed',
        targetType: 'partner',
        targetId: partner.id,
        details: { linkId: link.id },
      });
      // Onboarded: the partner's first redemption makes it active (a reinstatement is not an onboarding).
      if (partner.status === 'invited') {
        await emitWebhookEvent(
          trx,
          'partner.onboarded',
          toPartnerView(await trx.selectFrom('partners').selectAll().where('id', '=', partner.id).executeTakeFirstOrThrow()),
        );
      }
      return { partnerId: partner.id, sessionToken, expiresAt };
    })
    .catch((error: unknown) => {
      // A suspended partner's link is rolled back (still unused) and fails like any other.
      if (error instanceof SuspendedRedemption) return null;
      throw error;
    });
}

class SuspendedRedemption extends Error {}
