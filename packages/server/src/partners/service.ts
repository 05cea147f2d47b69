/** The partner directory: create, read, list and suspend partners (links, portal, keys and grants sit beside it). */
import { sql } from 'kysely';
import type { AppContext } from '../context.js';
import { changedFields, writeAudit } from '../audit/service.js';
import { newId } from '../crypto/random.js';
import { conflict, notFound } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import type { PartnersTable } from '../store/schema.js';
import { containsText } from '../store/like.js';
import { isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { type PartnerView, toPartnerView, toGrantView } from './views.js';
import { linkUrl, insertLink } from './links.js';
import { grantsOf } from './grants.js';
import { requirePartner } from './lookup.js';
import { type PartnerMetadata, partnerMetadataSchema, type partnerDetailSchema, type updatePartnerSchema } from './schema.js';
import { z } from 'zod';

/** A new partner and its first one-time link, stored together (or not at all). */
export async function createPartner(
  deps: Pick<AppContext, 'store' | 'hashingKey' | 'config'>,
  input: { appName?: string | undefined; appDescription?: string | undefined; metadata?: Record<string, unknown> | undefined },
  actor: string,
): Promise<{ id: string; url: string }> {
  const id = newId('ptn');
  const now = isoNow();
  const code = await deps.store.db.transaction().execute(async (trx) => {
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
    const issued = await insertLink(deps, trx, id);
    await writeAudit(trx, {
      actor,
      action: 'partner.created',
      targetType: 'partner',
      targetId: id,
      details: { appName: input.appName ?? null, appDescription: input.appDescription ?? null, metadata: input.metadata ?? {} },
    });
    return issued;
  });
  return { id, url: linkUrl(deps, code) };
}

/** Rows read per request at most when a tag filter skips rows, so one list call stays bounded. */
const LIST_SCAN_LIMIT = 1000;

/**
 * Partners in id order, `limit` per page. Tags live in the metadata JSON (no portable JSON
 * query across SQLite and PostgreSQL), so a tag filter reads further batches until the page is
 * full; `next` is the last id read, so the following page starts exactly where this one stopped.
 */
export async function listPartners(
  deps: Pick<AppContext, 'store'>,
  query: { status?: string | undefined; tag?: string | undefined; search?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ data: PartnerView[]; next: string | null }> {
  const data: PartnerView[] = [];
  let cursor = query.cursor;
  let scanned = 0;
  for (;;) {
    let select = deps.store.db.selectFrom('partners').selectAll();
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

export async function getPartner(deps: Pick<AppContext, 'store'>, partnerId: string): Promise<z.output<typeof partnerDetailSchema>> {
  const partner = await requirePartner(deps, partnerId);
  const keys = await deps.store.db.selectFrom('partner_keys').selectAll().where('partner_id', '=', partnerId).orderBy('created_at').execute();
  return {
    ...toPartnerView(partner),
    grants: (await grantsOf(deps, partnerId)).map(toGrantView),
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

export async function setPartnerStatus(
  deps: Pick<AppContext, 'store' | 'partnerKeys'>,
  partnerId: string,
  status: 'suspended' | 'active',
  actor: string,
): Promise<PartnerView> {
  const partner = await requirePartner(deps, partnerId);
  if (status === 'active' && partner.status !== 'suspended') throw conflict('not_suspended', 'Only a suspended partner can be reinstated.');
  await deps.store.db.transaction().execute(async (trx) => {
    await trx.updateTable('partners').set({ status, updated_at: isoNow() }).where('id', '=', partnerId).execute();
    // A suspension also ends open portal sessions: the partner must be invited again.
    if (status === 'suspended') await trx.deleteFrom('portal_sessions').where('partner_id', '=', partnerId).execute();
    await writeAudit(trx, { actor, action: status === 'suspended' ? 'partner.suspended' : 'partner.reinstated', targetType: 'partner', targetId: partnerId });
    if (status === 'suspended') {
      await emitWebhookEvent(
        trx,
        'partner.suspended',
        toPartnerView(await trx.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirstOrThrow()),
      );
    }
  });
  // A suspended partner's keys stop at once here (partners/verifier.ts).
  deps.partnerKeys.forget();
  return toPartnerView(await requirePartner(deps, partnerId));
}

/** A partner's editable fields, flattened (`metadata.color`) so the audit trail names each one that changed. */
function auditView(row: PartnersTable): Record<string, unknown> {
  const metadata = JSON.parse(row.metadata) as Record<string, unknown>;
  return {
    appName: row.app_name,
    appDescription: row.app_description,
    ...Object.fromEntries(Object.entries(metadata).map(([key, value]) => [`metadata.${key}`, value])),
  };
}

/** Metadata after an RFC 7396 merge: a key set to null is removed, one left out is kept. */
function mergedMetadata(stored: string, patch: Record<string, unknown>): PartnerMetadata {
  const merged: Record<string, unknown> = JSON.parse(stored) as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  // Each field was checked already; this checks the whole (its size) and names `metadata` when it fails.
  return parseInput(z.object({ metadata: partnerMetadataSchema }), { metadata: merged }).metadata;
}

/**
 * The operator edits a partner's names and metadata. Everything is checked before anything is
 * written, and the row and its audit entry commit together: a refusal changes nothing.
 */
export async function updatePartner(
  deps: Pick<AppContext, 'store'>,
  partnerId: string,
  changes: z.output<typeof updatePartnerSchema>,
  actor: string,
): Promise<PartnerView> {
  return deps.store.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
    if (!before) throw notFound('partner_not_found', 'No such partner.');
    const metadata = changes.metadata ? JSON.stringify(mergedMetadata(before.metadata, changes.metadata)) : before.metadata;
    const after = await trx
      .updateTable('partners')
      .set({ app_name: changes.appName ?? before.app_name, app_description: changes.appDescription ?? before.app_description, metadata, updated_at: isoNow() })
      .where('id', '=', partnerId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const changed = changedFields(auditView(before), auditView(after));
    if (Object.keys(changed).length > 0) {
      await writeAudit(trx, { actor, action: 'partner.updated', targetType: 'partner', targetId: partnerId, details: { changes: changed } });
    }
    return toPartnerView(after);
  });
}
