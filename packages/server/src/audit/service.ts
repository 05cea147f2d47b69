import type { z } from 'zod';
import type { Kysely } from 'kysely';
import { newSortableId } from '../crypto/random.js';
import type { Database } from '../store/schema.js';
import type { auditEntrySchema, auditPageSchema } from './schema.js';
import { isoNow } from '../store/time.js';

export type AuditEntry = z.output<typeof auditEntrySchema>;

/**
 * Writes one audit entry. Pass the same transaction as the change it describes, so a change and
 * its audit entry are stored together or not at all. Details must never hold a secret.
 */
export async function writeAudit(
  db: Kysely<Database>,
  entry: { actor: string; action: string; targetType: string; targetId: string; details?: Record<string, unknown> },
): Promise<void> {
  await db
    .insertInto('audit_entries')
    .values({
      id: newSortableId('aud'),
      at: isoNow(),
      actor: entry.actor,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}

export async function listAudit(
  db: Kysely<Database>,
  query: {
    targetType?: string | undefined;
    targetId?: string | undefined;
    actor?: string | undefined;
    action?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  },
): Promise<z.output<typeof auditPageSchema>> {
  let select = db.selectFrom('audit_entries').selectAll();
  if (query.targetType) select = select.where('target_type', '=', query.targetType);
  if (query.targetId) select = select.where('target_id', '=', query.targetId);
  if (query.actor) select = select.where('actor', '=', query.actor);
  if (query.action) select = select.where('action', '=', query.action);
  if (query.cursor) select = select.where('id', '<', query.cursor);
  const rows = await select
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
    .execute();
  const page = rows.slice(0, query.limit);
  return {
    data: page.map((row) => ({
      id: row.id,
      at: row.at,
      actor: row.actor,
      action: row.action,
      targetType: row.target_type,
      targetId: row.target_id,
      details: JSON.parse(row.details) as Record<string, unknown>,
    })),
    next: rows.length > query.limit ? page[page.length - 1]!.id : null,
  };
}
