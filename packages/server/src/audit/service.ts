import { type Kysely, sql } from 'kysely';
import { newSortableId } from '../crypto/random.js';
import type { AuditEntriesTable, Database } from '../store/schema.js';
import { startsWithText } from '../store/like.js';
import { isoNow } from '../store/time.js';
import type { AuditEntry, AuditPage, ListAuditQuery } from './schema.js';
import { pageOf } from '../store/page.js';

export type { AuditEntry } from './schema.js';

/** Who made a change: the actor, and for a tenant the session it acted through. */
export interface AuditActor {
  actor: string;
  via?: string | null;
}

/** The server itself: what no caller asked for (a refresh the provider refused). */
export const SYSTEM: AuditActor = { actor: 'system' };

/** A person acting for their tenant through the widget's or the hosted flow's session. */
export function tenantActor(tenantId: string, sessionId: string): AuditActor {
  return { actor: `tenant:${tenantId}`, via: sessionId };
}

/**
 * Writes one audit entry. Pass the same transaction as the change it describes, so a change and
 * its audit entry are stored together or not at all. Details must never hold a secret: name the
 * fields that changed with their before and after values, a secret only by its id or prefix.
 */
export async function writeAudit(
  db: Kysely<Database>,
  entry: {
    actor: string;
    action: string;
    targetType: string;
    targetId: string;
    details?: Record<string, unknown>;
    via?: string | null | undefined;
  },
): Promise<void> {
  await db
    .insertInto('audit_entries')
    .values({
      id: newSortableId('aud'),
      at: isoNow(),
      actor: entry.actor,
      via: entry.via ?? null,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}

/** Runs `change` and its audit entry in one transaction, or in the caller's when `db` is one already. */
export async function inTransaction<T>(db: Kysely<Database>, change: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? change(db) : db.transaction().execute(change);
}

/**
 * The fields whose values differ between `before` and `after` (one missing counts as null), each as
 * `{before, after}`: every audit entry of a change keeps them in `details.changes`.
 */
export function changedFields<T extends object>(before: T, after: T, ignore: readonly string[] = []): Record<string, { before: unknown; after: unknown }> {
  const changed: Record<string, { before: unknown; after: unknown }> = {};
  const [was, is] = [before as Record<string, unknown>, after as Record<string, unknown>];
  for (const key of new Set([...Object.keys(was), ...Object.keys(is)])) {
    if (ignore.includes(key)) continue;
    if (JSON.stringify(was[key]) !== JSON.stringify(is[key])) changed[key] = { before: was[key] ?? null, after: is[key] ?? null };
  }
  return changed;
}

function toEntry(row: AuditEntriesTable): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    via: row.via,
    action: row.action,
    resourceType: row.target_type,
    resourceId: row.target_id,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

/** Newest first; the cursor is the last id of the previous page (ids sort by time of writing). */
export async function listAudit(db: Kysely<Database>, query: ListAuditQuery): Promise<AuditPage> {
  let select = db.selectFrom('audit_entries').selectAll();
  if (query.resourceType) select = select.where('target_type', '=', query.resourceType);
  if (query.resourceId) select = select.where('target_id', '=', query.resourceId);
  if (query.actor) select = select.where('actor', '=', query.actor);
  if (query.action) {
    const action = query.action;
    select = action.endsWith('.') ? select.where(startsWithText(sql.ref('action'), action)) : select.where('action', '=', action);
  }
  if (query.from) select = select.where('at', '>=', query.from);
  if (query.to) select = select.where('at', '<', query.to);
  if (query.cursor) select = select.where('id', '<', query.cursor);
  const rows = await select
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
    .execute();
  return pageOf(rows, query.limit, toEntry);
}
