/** The partner directory: create, read, list and suspend partners (links, portal, keys and grants sit beside it). */
import { sql } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context.js';
import { writeAudit } from '../audit/service.js';
import { newId } from '../crypto/random.js';
import { conflict } from '../http/errors.js';
import type { PartnersTable } from '../store/schema.js';
import { containsText } from '../store/like.js';
import { isoNow } from '../store/time.js';
import { type PartnerView, toPartnerView, toGrantView } from './views.js';
import { linkUrl, insertLink } from './links.js';
import { grantsOf } from './grants.js';
import { requirePartner } from './lookup.js';
import type { partnerDetailSchema } from './schema.js';

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
    await writeAudit(trx, { actor, action: 'partner.created', targetType: 'partner', targetId: id, details: { appName: input.appName ?? null } });
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
  deps: Pick<AppContext, 'store'>,
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
  });
  return toPartnerView(await requirePartner(deps, partnerId));
}
