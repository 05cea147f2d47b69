/** The partner portal: its session, what `<partner-onboarding>` shows, and the partner's own choices. */
import { type PortalGrant, type PortalPartnerBranding, type PortalState, partnerMetadataFields, type Subscriptions } from '@patchbay/contract';
import { changedFields, writeAudit } from '../audit/service.js';
import { hmacSha256 } from '../crypto/hmac.js';
import type { AppContext } from '../context.js';
import { patternCovers } from '../events/topics.js';
import { badRequest } from '../http/errors.js';
import type { PartnersTable } from '../store/schema.js';
import { isoNow } from '../store/time.js';
import { ENVIRONMENTS } from './schema.js';
import { toPartnerView } from './views.js';
import { activeKeys } from './keys.js';
import { grantsOf } from './grants.js';

/**
 * The partner behind a portal session cookie and when that session ends, or null when the cookie
 * is missing, unknown, expired or its partner suspended (the UI then asks for a new link).
 */
export async function partnerOfPortalSession(
  deps: Pick<AppContext, 'store' | 'hashingKey'>,
  token: string | undefined,
): Promise<{ partner: PartnersTable; sessionExpiresAt: string } | null> {
  if (!token || token.length > 100) return null;
  const row = await deps.store.db
    .selectFrom('portal_sessions')
    .innerJoin('partners', 'partners.id', 'portal_sessions.partner_id')
    .selectAll('partners')
    .select('portal_sessions.expires_at as session_expires_at')
    .where('portal_sessions.token_hash', '=', hmacSha256(deps.hashingKey, token))
    .executeTakeFirst();
  if (!row || row.session_expires_at <= isoNow() || row.status === 'suspended') return null;
  const { session_expires_at: sessionExpiresAt, ...partner } = row;
  return { partner, sessionExpiresAt };
}

/** The host's invitation text, when it put one in the partner's metadata (`metadata.invitation`). */
function invitationOf(metadata: Record<string, unknown>): string {
  return typeof metadata.invitation === 'string' ? metadata.invitation.slice(0, 500) : '';
}

/**
 * The typed fields the portal's header shows. Read leniently: a partner made before metadata was
 * typed may hold anything, and a value that does not pass today's check is simply not shown.
 */
function brandingOf(metadata: Record<string, unknown>): PortalPartnerBranding {
  const shown = (field: 'color' | 'icon' | 'owner') => {
    const parsed = partnerMetadataFields[field].safeParse(metadata[field]);
    return parsed.success ? parsed.data : null;
  };
  return { color: shown('color'), icon: shown('icon'), owner: shown('owner') };
}

/** What `<partner-onboarding>` shows (docs/partners.md): never a key, only prefixes. */
export async function portalState(deps: Pick<AppContext, 'store' | 'config'>, partner: PartnersTable, sessionExpiresAt: string): Promise<PortalState> {
  const keys = activeKeys(await deps.store.db.selectFrom('partner_keys').selectAll().where('partner_id', '=', partner.id).orderBy('created_at').execute());
  const grants = await grantsOf(deps, partner.id);
  // One row per topic: what the workspace allows in any environment, and in which environments.
  const byTopic = new Map<string, PortalGrant>();
  for (const grant of grants) {
    const entry = byTopic.get(grant.pattern) ?? { topic: grant.pattern, send: false, receive: false, environments: [] };
    entry.send ||= grant.can_send === 1;
    entry.receive ||= grant.can_receive === 1;
    // The column holds what grantSchema accepted: an environment or `*`.
    entry.environments.push({
      environment: grant.environment as PortalGrant['environments'][number]['environment'],
      send: grant.can_send === 1,
      receive: grant.can_receive === 1,
    });
    byTopic.set(grant.pattern, entry);
  }
  const view = toPartnerView(partner);
  return {
    workspace: deps.config.workspace,
    partner: { id: view.id, appName: view.appName, appDescription: view.appDescription, contact: view.contact, status: view.status },
    partnerBranding: brandingOf(view.metadata),
    invitation: invitationOf(view.metadata),
    keys: ENVIRONMENTS.flatMap((environment) => {
      const current = keys.filter((key) => key.environment === environment);
      const live = current.find((key) => key.expires_at === null);
      if (!live) return [];
      const previous = current.find((key) => key.expires_at !== null);
      return [{ environment, prefix: live.key_prefix, createdAt: live.created_at, previousExpiresAt: previous?.expires_at ?? null }];
    }),
    grants: [...byTopic.values()],
    subscriptions: JSON.parse(partner.subscriptions) as Subscriptions,
    apiBaseUrl: deps.config.publicUrl,
    sessionExpiresAt,
  };
}

export async function updatePartnerDetails(
  deps: Pick<AppContext, 'store'>,
  partnerId: string,
  details: { appName: string; appDescription: string; contact: string },
): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('partners').select(['app_name', 'app_description', 'contact']).where('id', '=', partnerId).executeTakeFirstOrThrow();
    await trx
      .updateTable('partners')
      .set({ app_name: details.appName, app_description: details.appDescription, contact: details.contact, updated_at: isoNow() })
      .where('id', '=', partnerId)
      .execute();
    await writeAudit(trx, {
      actor: `partner:${partnerId}`,
      action: 'partner.details_changed',
      targetType: 'partner',
      targetId: partnerId,
      details: {
        appName: details.appName,
        changes: changedFields({ appName: before.app_name, appDescription: before.app_description, contact: before.contact }, details),
      },
    });
  });
}

/** Subscriptions must stay within what the workspace granted, per direction. */
export async function setSubscriptions(
  deps: Pick<AppContext, 'store'>,
  partnerId: string,
  subscriptions: { publish: string[]; consume: string[] },
): Promise<void> {
  const grants = await grantsOf(deps, partnerId);
  for (const [direction, topics] of [
    ['publish', subscriptions.publish],
    ['consume', subscriptions.consume],
  ] as const) {
    for (const topic of topics) {
      const allowed = grants.some((grant) => (direction === 'publish' ? grant.can_send : grant.can_receive) === 1 && patternCovers(grant.pattern, topic));
      if (!allowed) throw badRequest('topic_not_granted', `${direction}: ${topic} is not granted to this partner.`);
    }
  }
  await deps.store.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('partners')
      .set({
        subscriptions: JSON.stringify({ publish: [...new Set(subscriptions.publish)], consume: [...new Set(subscriptions.consume)] }),
        updated_at: isoNow(),
      })
      .where('id', '=', partnerId)
      .execute();
    await writeAudit(trx, {
      actor: `partner:${partnerId}`,
      action: 'partner.subscriptions_changed',
      targetType: 'partner',
      targetId: partnerId,
      details: subscriptions,
    });
  });
}

/** What a partner chose to consume in the portal: the default topics of its event stream. */
export async function consumeSubscriptionsOf(deps: Pick<AppContext, 'store'>, partnerId: string): Promise<string[]> {
  const row = await deps.store.db.selectFrom('partners').select('subscriptions').where('id', '=', partnerId).executeTakeFirst();
  return row ? (JSON.parse(row.subscriptions) as { consume: string[] }).consume : [];
}

// ── operator side ──

/** Housekeeping: ended portal sessions are useless (a cookie never outlives its row's expiry). */
export async function pruneEndedPortalSessions(deps: Pick<AppContext, 'store'>): Promise<number> {
  const result = await deps.store.db.deleteFrom('portal_sessions').where('expires_at', '<', isoNow()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
