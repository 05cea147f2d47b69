import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { writeAudit } from '../audit/service.js';
import { accessKeyPrefix, generateSecret, isWellFormedSecret, PARTNER_KEY_PREFIX, PARTNER_LINK_PREFIX } from '../crypto/access-key.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { newId } from '../crypto/random.js';
import type { AppContext } from '../context.js';
import { patternCovers } from '../events/topics.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { Database, PartnerKeysTable, PartnersTable, TopicGrantsTable } from '../store/schema.js';
import { containsText } from '../store/like.js';
import { isoIn, isoNow } from '../store/time.js';
import type { PartnerEnvironment } from './schema.js';
import { ENVIRONMENTS } from './schema.js';

type Deps = Pick<AppContext, 'store' | 'hashingKey' | 'config'>;

export interface PartnerView {
  id: string;
  appName: string;
  appDescription: string;
  contact: string;
  status: PartnersTable['status'];
  metadata: Record<string, unknown>;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

export interface GrantView {
  id: string;
  topic: string;
  environment: string;
  send: boolean;
  receive: boolean;
}

function toPartnerView(row: PartnersTable): PartnerView {
  const metadata = JSON.parse(row.metadata) as Record<string, unknown>;
  const tags = Array.isArray(metadata.tags) ? metadata.tags.filter((tag): tag is string => typeof tag === 'string') : [];
  return {
    id: row.id,
    appName: row.app_name,
    appDescription: row.app_description,
    contact: row.contact,
    status: row.status,
    metadata,
    tags,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toGrantView(row: TopicGrantsTable): GrantView {
  return { id: row.id, topic: row.pattern, environment: row.environment, send: row.can_send === 1, receive: row.can_receive === 1 };
}

/** The partner's embedded URL: the code rides in the fragment, which browsers never send anywhere. */
function linkUrl(ctx: Deps, code: string): string {
  return `${ctx.config.publicUrl}/partner#code=${code}`;
}

async function insertLink(ctx: Deps, db: Kysely<Database>, partnerId: string): Promise<string> {
  const code = generateSecret(PARTNER_LINK_PREFIX);
  await db
    .insertInto('partner_links')
    .values({
      id: newId('pln'),
      partner_id: partnerId,
      code_hash: hmacSha256(ctx.hashingKey, code),
      created_at: isoNow(),
      expires_at: isoIn(ctx.config.partnerLinkTtlDays * 86_400),
      used_at: null,
      revoked_at: null,
    })
    .execute();
  return code;
}

/** A new partner and its first one-time link, stored together (or not at all). */
export async function createPartner(
  ctx: Deps,
  input: { appName?: string | undefined; appDescription?: string | undefined; metadata?: Record<string, unknown> | undefined },
  actor: string,
): Promise<{ id: string; url: string }> {
  const id = newId('ptn');
  const now = isoNow();
  const code = await ctx.store.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('partners')
      .values({
        id,
        app_name: input.appName ?? '',
        app_description: input.appDescription ?? '',
        contact: '',
        metadata: JSON.stringify(input.metadata ?? {}),
        status: 'invited',
        subscriptions: JSON.stringify({ publish: [], consume: [] }),
        created_at: now,
        updated_at: now,
      })
      .execute();
    const issued = await insertLink(ctx, trx, id);
    await writeAudit(trx, { actor, action: 'partner.created', targetType: 'partner', targetId: id, details: { appName: input.appName ?? null } });
    return issued;
  });
  return { id, url: linkUrl(ctx, code) };
}

export async function requirePartner(ctx: Deps, partnerId: string): Promise<PartnersTable> {
  const row = await ctx.store.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
  if (!row) throw notFound('partner_not_found', 'No such partner.');
  return row;
}

/** A fresh link for an existing partner; earlier unused links keep working until they expire or are revoked. */
export async function issueLink(ctx: Deps, partnerId: string, actor: string): Promise<{ url: string; expiresAt: string }> {
  await requirePartner(ctx, partnerId);
  const code = await ctx.store.db.transaction().execute(async (trx) => {
    const issued = await insertLink(ctx, trx, partnerId);
    await writeAudit(trx, { actor, action: 'partner.link_issued', targetType: 'partner', targetId: partnerId });
    return issued;
  });
  return { url: linkUrl(ctx, code), expiresAt: isoIn(ctx.config.partnerLinkTtlDays * 86_400) };
}

export async function revokeLinks(ctx: Deps, partnerId: string, actor: string): Promise<{ revoked: number }> {
  await requirePartner(ctx, partnerId);
  return ctx.store.db.transaction().execute(async (trx) => {
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
export async function redeemLink(ctx: Deps, code: string): Promise<{ partnerId: string; sessionToken: string; expiresAt: string } | null> {
  if (!isWellFormedSecret(PARTNER_LINK_PREFIX, code)) return null;
  const now = isoNow();
  return ctx.store.db
    .transaction()
    .execute(async (trx) => {
      const link = await trx
        .updateTable('partner_links')
        .set({ used_at: now })
        .where('code_hash', '=', hmacSha256(ctx.hashingKey, code))
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
      const expiresAt = isoIn(ctx.config.portalSessionMinutes * 60);
      await trx
        .insertInto('portal_sessions')
        .values({ id: newId('pps'), partner_id: partner.id, token_hash: hmacSha256(ctx.hashingKey, sessionToken), created_at: now, expires_at: expiresAt })
        .execute();
      await writeAudit(trx, {
        actor: `partner:${partner.id}`,
        action: 'partner.link_redeemed',
        targetType: 'partner',
        targetId: partner.id,
        details: { linkId: link.id },
      });
      return { partnerId: partner.id, sessionToken, expiresAt };
    })
    .catch((error: unknown) => {
      // A suspended partner's link is rolled back (still unused) and fails like any other.
      if (error instanceof SuspendedRedemption) return null;
      throw error;
    });
}

class SuspendedRedemption extends Error {}

/**
 * The partner behind a portal session cookie and when that session ends, or null when the cookie
 * is missing, unknown, expired or its partner suspended (the UI then asks for a new link).
 */
export async function partnerOfPortalSession(ctx: Deps, token: string | undefined): Promise<{ partner: PartnersTable; sessionExpiresAt: string } | null> {
  if (!token || token.length > 100) return null;
  const row = await ctx.store.db
    .selectFrom('portal_sessions')
    .innerJoin('partners', 'partners.id', 'portal_sessions.partner_id')
    .selectAll('partners')
    .select('portal_sessions.expires_at as session_expires_at')
    .where('portal_sessions.token_hash', '=', hmacSha256(ctx.hashingKey, token))
    .executeTakeFirst();
  if (!row || row.session_expires_at <= isoNow() || row.status === 'suspended') return null;
  const { session_expires_at: sessionExpiresAt, ...partner } = row;
  return { partner, sessionExpiresAt };
}

async function grantsOf(ctx: Deps, partnerId: string): Promise<TopicGrantsTable[]> {
  return ctx.store.db.selectFrom('topic_grants').selectAll().where('partner_id', '=', partnerId).orderBy('pattern').orderBy('environment').execute();
}

function activeKeys(rows: PartnerKeysTable[], now = isoNow()): PartnerKeysTable[] {
  return rows.filter((row) => row.expires_at === null || row.expires_at > now);
}

/** The host's invitation text, when it put one in the partner's metadata (`metadata.invitation`). */
function invitationOf(metadata: Record<string, unknown>): string {
  return typeof metadata.invitation === 'string' ? metadata.invitation.slice(0, 500) : '';
}

/** What `<partner-onboarding>` shows (docs/partners.md): never a key, only prefixes. */
export async function portalState(ctx: Deps, partner: PartnersTable, sessionExpiresAt: string) {
  const keys = activeKeys(await ctx.store.db.selectFrom('partner_keys').selectAll().where('partner_id', '=', partner.id).orderBy('created_at').execute());
  const grants = await grantsOf(ctx, partner.id);
  // One row per topic: what the workspace allows in any environment, and in which environments.
  const byTopic = new Map<
    string,
    { topic: string; send: boolean; receive: boolean; environments: Array<{ environment: string; send: boolean; receive: boolean }> }
  >();
  for (const grant of grants) {
    const entry = byTopic.get(grant.pattern) ?? { topic: grant.pattern, send: false, receive: false, environments: [] };
    entry.send ||= grant.can_send === 1;
    entry.receive ||= grant.can_receive === 1;
    entry.environments.push({ environment: grant.environment, send: grant.can_send === 1, receive: grant.can_receive === 1 });
    byTopic.set(grant.pattern, entry);
  }
  const view = toPartnerView(partner);
  return {
    workspace: ctx.config.workspace,
    partner: { id: view.id, appName: view.appName, appDescription: view.appDescription, contact: view.contact, status: view.status },
    invitation: invitationOf(view.metadata),
    keys: ENVIRONMENTS.flatMap((environment) => {
      const current = keys.filter((key) => key.environment === environment);
      const live = current.find((key) => key.expires_at === null);
      if (!live) return [];
      const previous = current.find((key) => key.expires_at !== null);
      return [{ environment, prefix: live.key_prefix, createdAt: live.created_at, previousExpiresAt: previous?.expires_at ?? null }];
    }),
    grants: [...byTopic.values()],
    subscriptions: JSON.parse(partner.subscriptions) as { publish: string[]; consume: string[] },
    apiBaseUrl: ctx.config.publicUrl,
    sessionExpiresAt,
  };
}

export async function updatePartnerDetails(ctx: Deps, partnerId: string, details: { appName: string; appDescription: string; contact: string }): Promise<void> {
  await ctx.store.db.transaction().execute(async (trx) => {
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
      details: { appName: details.appName },
    });
  });
}

/**
 * A partner key for one environment, shown once. Creating needs no key there yet; rotating keeps
 * the current key working for the grace period, then it fails with key_expired.
 */
export async function issuePartnerKey(
  ctx: Deps,
  partnerId: string,
  environment: PartnerEnvironment,
  rotation: { graceSeconds: number } | null,
): Promise<string> {
  const key = generateSecret(PARTNER_KEY_PREFIX);
  await ctx.store.db.transaction().execute(async (trx) => {
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
        secret_hash: hmacSha256(ctx.hashingKey, key),
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
  return key;
}

/** Subscriptions must stay within what the workspace granted, per direction. */
export async function setSubscriptions(ctx: Deps, partnerId: string, subscriptions: { publish: string[]; consume: string[] }): Promise<void> {
  const grants = await grantsOf(ctx, partnerId);
  for (const [direction, topics] of [
    ['publish', subscriptions.publish],
    ['consume', subscriptions.consume],
  ] as const) {
    for (const topic of topics) {
      const allowed = grants.some((grant) => (direction === 'publish' ? grant.can_send : grant.can_receive) === 1 && patternCovers(grant.pattern, topic));
      if (!allowed) throw badRequest('topic_not_granted', `${direction}: ${topic} is not granted to this partner.`);
    }
  }
  await ctx.store.db.transaction().execute(async (trx) => {
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

export type PartnerKeyCheck =
  | { ok: true; partnerId: string; keyId: string; keyPrefix: string; environment: PartnerEnvironment; grants: GrantView[] }
  | { ok: false; reason: 'invalid_credentials' | 'key_expired' | 'partner_suspended'; keyId: string | null; keyPrefix: string | null };

/** How often `last_authenticated_at` is written per key: within a minute is precise enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Checks a partner key: format first (no lookup for typos), then the store, expiry and the partner's status. */
export async function verifyPartnerKey(ctx: Deps, presented: string): Promise<PartnerKeyCheck> {
  if (!isWellFormedSecret(PARTNER_KEY_PREFIX, presented)) return { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null };
  return checkPartnerKey(ctx, { secretHash: hmacSha256(ctx.hashingKey, presented), presentedPrefix: accessKeyPrefix(presented) });
}

/**
 * The same checks for a key already accepted, by id: an open event stream asks again now and then,
 * so a suspension, an ended grace period or a revoked grant also ends streams opened before it.
 */
export async function recheckPartnerKey(ctx: Deps, keyId: string): Promise<PartnerKeyCheck> {
  return checkPartnerKey(ctx, { keyId, presentedPrefix: null });
}

async function checkPartnerKey(ctx: Deps, by: { secretHash?: string; keyId?: string; presentedPrefix: string | null }): Promise<PartnerKeyCheck> {
  let select = ctx.store.db
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
    await ctx.store.db
      .updateTable('partner_keys')
      .set({ last_authenticated_at: now })
      .where('id', '=', row.id)
      .where((eb) => eb.or([eb('last_authenticated_at', 'is', null), eb('last_authenticated_at', '<', stale)]))
      .execute();
  }
  const grants = (await grantsOf(ctx, row.partner_id)).filter((grant) => grant.environment === '*' || grant.environment === row.environment).map(toGrantView);
  return { ok: true, partnerId: row.partner_id, keyId: row.id, keyPrefix: row.key_prefix, environment: row.environment, grants };
}

/** What a partner chose to consume in the portal: the default topics of its event stream. */
export async function consumeSubscriptionsOf(ctx: Deps, partnerId: string): Promise<string[]> {
  const row = await ctx.store.db.selectFrom('partners').select('subscriptions').where('id', '=', partnerId).executeTakeFirst();
  return row ? (JSON.parse(row.subscriptions) as { consume: string[] }).consume : [];
}

// ── operator side ──

/** Rows read per request at most when a tag filter skips rows, so one list call stays bounded. */
const LIST_SCAN_LIMIT = 1000;

/**
 * Partners in id order, `limit` per page. Tags live in the metadata JSON (no portable JSON
 * query across SQLite and PostgreSQL), so a tag filter reads further batches until the page is
 * full; `next` is the last id read, so the following page starts exactly where this one stopped.
 */
export async function listPartners(
  ctx: Deps,
  query: { status?: string | undefined; tag?: string | undefined; search?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ data: PartnerView[]; next: string | null }> {
  const data: PartnerView[] = [];
  let cursor = query.cursor;
  let scanned = 0;
  for (;;) {
    let select = ctx.store.db.selectFrom('partners').selectAll();
    if (query.status) select = select.where('status', '=', query.status as PartnersTable['status']);
    if (query.search) {
      const search = query.search;
      select = select.where((eb) =>
        eb.or([containsText(sql.ref('app_name'), search), containsText(sql.ref('app_description'), search), eb('id', '=', search)]),
      );
    }
    if (cursor) select = select.where('id', '>', cursor);
    const batchSize = query.limit - data.length;
    const rows = await select
      .orderBy('id')
      .limit(batchSize + 1)
      .execute();
    scanned += Math.min(rows.length, batchSize);
    for (const row of rows.slice(0, batchSize)) {
      const partner = toPartnerView(row);
      if (!query.tag || partner.tags.includes(query.tag)) data.push(partner);
      cursor = row.id;
    }
    const more = rows.length > batchSize;
    if (!more) return { data, next: null };
    if (data.length >= query.limit || scanned >= LIST_SCAN_LIMIT) return { data, next: cursor ?? null };
  }
}

export async function getPartner(
  ctx: Deps,
  partnerId: string,
): Promise<
  PartnerView & {
    grants: GrantView[];
    keys: Array<{ id: string; environment: string; prefix: string; createdAt: string; expiresAt: string | null; lastAuthenticatedAt: string | null }>;
  }
> {
  const partner = await requirePartner(ctx, partnerId);
  const keys = await ctx.store.db.selectFrom('partner_keys').selectAll().where('partner_id', '=', partnerId).orderBy('created_at').execute();
  return {
    ...toPartnerView(partner),
    grants: (await grantsOf(ctx, partnerId)).map(toGrantView),
    keys: keys.map((key) => ({
      id: key.id,
      environment: key.environment,
      prefix: key.key_prefix,
      createdAt: key.created_at,
      expiresAt: key.expires_at,
      lastAuthenticatedAt: key.last_authenticated_at,
    })),
  };
}

export async function setPartnerStatus(ctx: Deps, partnerId: string, status: 'suspended' | 'active', actor: string): Promise<PartnerView> {
  const partner = await requirePartner(ctx, partnerId);
  if (status === 'active' && partner.status !== 'suspended') throw conflict('not_suspended', 'Only a suspended partner can be reinstated.');
  await ctx.store.db.transaction().execute(async (trx) => {
    await trx.updateTable('partners').set({ status, updated_at: isoNow() }).where('id', '=', partnerId).execute();
    // A suspension also ends open portal sessions: the partner must be invited again.
    if (status === 'suspended') await trx.deleteFrom('portal_sessions').where('partner_id', '=', partnerId).execute();
    await writeAudit(trx, { actor, action: status === 'suspended' ? 'partner.suspended' : 'partner.reinstated', targetType: 'partner', targetId: partnerId });
  });
  return toPartnerView(await requirePartner(ctx, partnerId));
}

export async function grantTopic(
  ctx: Deps,
  partnerId: string,
  grant: { pattern: string; environment: string; send: boolean; receive: boolean },
  actor: string,
): Promise<GrantView> {
  await requirePartner(ctx, partnerId);
  return ctx.store.db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('topic_grants')
      .select('id')
      .where('partner_id', '=', partnerId)
      .where('pattern', '=', grant.pattern)
      .where('environment', '=', grant.environment)
      .executeTakeFirst();
    const row: TopicGrantsTable = {
      id: existing?.id ?? newId('tgr'),
      partner_id: partnerId,
      pattern: grant.pattern,
      environment: grant.environment,
      can_send: grant.send ? 1 : 0,
      can_receive: grant.receive ? 1 : 0,
      created_at: isoNow(),
    };
    if (existing) await trx.updateTable('topic_grants').set({ can_send: row.can_send, can_receive: row.can_receive }).where('id', '=', existing.id).execute();
    else await trx.insertInto('topic_grants').values(row).execute();
    await writeAudit(trx, {
      actor,
      action: 'partner.topic_granted',
      targetType: 'partner',
      targetId: partnerId,
      details: { pattern: grant.pattern, environment: grant.environment, send: grant.send, receive: grant.receive },
    });
    return toGrantView(row);
  });
}

export async function revokeGrant(ctx: Deps, partnerId: string, grantId: string, actor: string): Promise<void> {
  await ctx.store.db.transaction().execute(async (trx) => {
    const grant = await trx.selectFrom('topic_grants').selectAll().where('id', '=', grantId).where('partner_id', '=', partnerId).executeTakeFirst();
    if (!grant) throw notFound('grant_not_found', 'No such grant for this partner.');
    await trx.deleteFrom('topic_grants').where('id', '=', grantId).execute();
    await writeAudit(trx, {
      actor,
      action: 'partner.topic_revoked',
      targetType: 'partner',
      targetId: partnerId,
      details: { pattern: grant.pattern, environment: grant.environment },
    });
  });
}

/** Housekeeping: ended portal sessions are useless (a cookie never outlives its row's expiry). */
export async function pruneEndedPortalSessions(ctx: Pick<AppContext, 'store'>): Promise<number> {
  const result = await ctx.store.db.deleteFrom('portal_sessions').where('expires_at', '<', isoNow()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
