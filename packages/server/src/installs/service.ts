import type { InstallPage, InstallView } from '@patchbay/contract';
import type { Transaction } from 'kysely';
import { type AuditActor, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import { newId } from '../crypto/random.js';
import { notFound } from '../http/errors.js';
import type { Database, InstallsTable } from '../store/schema.js';
import { isoNow } from '../store/time.js';

function toView(row: InstallsTable): InstallView {
  return {
    id: row.id,
    integrationId: row.integration_id,
    tenantId: row.tenant_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    connectionIds: JSON.parse(row.connection_ids) as string[],
    config: JSON.parse(row.config) as Record<string, string>,
    operationState: row.status_message ? { status: row.status, message: row.status_message } : { status: row.status },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Writes the install, its tag index and the session's link to it in one transaction: either all
 * of it exists or none. A concurrent commit of the same session loses on the unique session_id and
 * reads the winner's install instead. `linkSession` moves the session (sessions/state.ts owns its
 * statuses); throwing there rolls the install back.
 */
export async function createInstallForSession(
  deps: Pick<AppContext, 'store' | 'logger'>,
  input: {
    sessionId: string;
    integrationId: string;
    tenantId: string;
    tags: Record<string, string>;
    connectionIds: string[];
    config: Record<string, string>;
    /** Who committed the session: the install's creator in the audit trail. */
    by: AuditActor;
    linkSession: (trx: Transaction<Database>, installId: string) => Promise<void>;
  },
): Promise<string> {
  const installId = await deps.store.db.transaction().execute(async (trx) => {
    const now = isoNow();
    const id = newId('ins');
    const inserted = await trx
      .insertInto('installs')
      .values({
        id,
        integration_id: input.integrationId,
        tenant_id: input.tenantId,
        session_id: input.sessionId,
        tags: JSON.stringify(input.tags),
        connection_ids: JSON.stringify(input.connectionIds),
        config: JSON.stringify(input.config),
        status: 'pending',
        status_message: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .onConflict((oc) => oc.column('session_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      const existing = await trx.selectFrom('installs').select('id').where('session_id', '=', input.sessionId).executeTakeFirstOrThrow();
      return existing.id;
    }
    const tagRows = Object.entries(input.tags).map(([tag_key, tag_value]) => ({ install_id: id, tag_key, tag_value }));
    if (tagRows.length > 0) await trx.insertInto('install_tags').values(tagRows).execute();
    await input.linkSession(trx, id);
    await writeAudit(trx, {
      ...input.by,
      action: 'install.created',
      targetType: 'install',
      targetId: id,
      details: {
        integrationId: input.integrationId,
        tenantId: input.tenantId,
        sessionId: input.sessionId,
        connectionIds: input.connectionIds,
        tags: input.tags,
      },
    });
    return id;
  });
  setImmediate(() => {
    completeInstall(deps, installId).catch((error: unknown) => deps.logger.error({ err: error, installId }, 'install completion failed'));
  });
  return installId;
}

/**
 * The asynchronous half of an install: confirms its connections are usable and settles
 * operationState. Runs after commit answers, and again at start-up for installs left pending.
 */
export async function completeInstall(deps: Pick<AppContext, 'store'>, installId: string): Promise<void> {
  const install = await deps.store.db.selectFrom('installs').selectAll().where('id', '=', installId).executeTakeFirst();
  if (!install || install.status !== 'pending') return;
  const connectionIds = JSON.parse(install.connection_ids) as string[];
  const connections = await deps.store.db.selectFrom('connections').select(['id', 'status']).where('id', 'in', connectionIds).execute();
  const usable = connections.length === connectionIds.length && connections.every((connection) => connection.status === 'active');
  await deps.store.db
    .updateTable('installs')
    .set(
      usable
        ? { status: 'success', status_message: null, updated_at: isoNow() }
        : { status: 'failed', status_message: 'A connection of this install is not usable.', updated_at: isoNow() },
    )
    .where('id', '=', installId)
    .where('status', '=', 'pending')
    .execute();
}

export async function resumePendingInstalls(deps: Pick<AppContext, 'store'>): Promise<number> {
  const pending = await deps.store.db.selectFrom('installs').select('id').where('status', '=', 'pending').where('deleted_at', 'is', null).execute();
  for (const { id } of pending) await completeInstall(deps, id);
  return pending.length;
}

export async function getInstall(deps: Pick<AppContext, 'store'>, integrationId: string, installId: string): Promise<InstallView> {
  const row = await deps.store.db
    .selectFrom('installs')
    .selectAll()
    .where('id', '=', installId)
    .where('integration_id', '=', integrationId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw notFound('install_not_found', 'No such install.');
  return toView(row);
}

/** Tag search uses the install_tags index; pages are ordered by id and continue after the cursor. */
export async function searchInstalls(
  deps: Pick<AppContext, 'store'>,
  integrationId: string,
  query: { tags: Array<[string, string]>; limit: number; cursor?: string | undefined },
): Promise<InstallPage> {
  let select = deps.store.db
    .selectFrom('installs')
    .selectAll('installs')
    .where('installs.integration_id', '=', integrationId)
    .where('installs.deleted_at', 'is', null);
  // `id IN (ids with this tag)`, not a correlated EXISTS: SQLite then starts from the tag index
  // instead of testing every install of the integration (10 ms at 10 000 installs, growing with them).
  for (const [key, value] of query.tags) {
    select = select.where('installs.id', 'in', (eb) =>
      eb.selectFrom('install_tags').select('install_tags.install_id').where('install_tags.tag_key', '=', key).where('install_tags.tag_value', '=', value),
    );
  }
  if (query.cursor) select = select.where('installs.id', '>', query.cursor);
  const rows = await select
    .orderBy('installs.id')
    .limit(query.limit + 1)
    .execute();
  const page = rows.slice(0, query.limit);
  return { data: page.map(toView), next: rows.length > query.limit ? page[page.length - 1]!.id : null };
}

/** Installs are soft-deleted so audit and history keep their references. */
export async function deleteInstall(deps: Pick<AppContext, 'store'>, integrationId: string, installId: string, by: AuditActor): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const deleted = await trx
      .updateTable('installs')
      .set({ deleted_at: isoNow(), updated_at: isoNow() })
      .where('id', '=', installId)
      .where('integration_id', '=', integrationId)
      .where('deleted_at', 'is', null)
      .returning(['tenant_id', 'connection_ids'])
      .executeTakeFirst();
    if (!deleted) throw notFound('install_not_found', 'No such install.');
    await writeAudit(trx, {
      ...by,
      action: 'install.deleted',
      targetType: 'install',
      targetId: installId,
      details: { integrationId, tenantId: deleted.tenant_id, connectionIds: JSON.parse(deleted.connection_ids) as string[] },
    });
  });
}

/** The tenant's newest working install of an integration, which tenant actions run against. */
export async function findActiveInstall(deps: Pick<AppContext, 'store'>, integrationId: string, tenantId: string): Promise<InstallView | null> {
  const row = await deps.store.db
    .selectFrom('installs')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'success')
    .where('deleted_at', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toView(row) : null;
}
