import type { InstallPage, InstallView } from '@patchbay/contract';
import type { Transaction } from 'kysely';
import { type AuditActor, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import { newId } from '../crypto/random.js';
import { notFound } from '../http/errors.js';
import type { Database, InstallsTable } from '../store/schema.js';
import { isoNow } from '../store/time.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import { pageOf } from '../store/page.js';

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
 * One install per tenant and integration (Fusebit's "a tenant's configured integration"), holding
 * one connection per connector of the integration. We chose this over "an action finds its
 * connection across the tenant's installs" because then the install is what the host deletes to
 * remove the tenant's access (all of it), and what it reads to see what the tenant connected.
 *
 * A session's commit therefore either creates the tenant's install or adds its connection to the
 * tenant's working (pending or successful) one, replacing the connection of the same connector;
 * the config and tags are merged, the session's values winning. All of it happens in one
 * transaction with the session's link to the install: either all of it exists or none.
 * `linkSession` moves the session (sessions/state.ts owns its statuses); throwing there rolls the
 * install back. Commits of one tenant and integration take turns under one lock (any instance),
 * so two sessions committed at once make one install, and neither loses its connection.
 * `committedInstall` reads, under that lock, the install a concurrent commit of the same session
 * already linked it to: that commit won, and this one answers the same install.
 */
export async function commitInstall(
  deps: Pick<AppContext, 'store' | 'logger' | 'activeInstalls'>,
  input: {
    sessionId: string;
    integrationId: string;
    tenantId: string;
    tags: Record<string, string>;
    connectionId: string;
    config: Record<string, string>;
    committedInstall: (trx: Transaction<Database>) => Promise<string | null>;
    /** Who committed the session: the install's creator (or changer) in the audit trail. */
    by: AuditActor;
    linkSession: (trx: Transaction<Database>, installId: string) => Promise<void>;
  },
): Promise<string> {
  const installId = await deps.activeInstalls.forgetAfter(input.integrationId, input.tenantId, () => commitInTransaction(deps, input));
  setImmediate(() => {
    completeInstall(deps, installId).catch((error: unknown) => deps.logger.error({ err: error, installId }, 'install completion failed'));
  });
  return installId;
}

type CommitInput = Parameters<typeof commitInstall>[1];

async function commitInTransaction(deps: Pick<AppContext, 'store'>, input: CommitInput): Promise<string> {
  return deps.store.db.transaction().execute(async (trx) => {
    await deps.store.lock(trx, `install:${input.integrationId}:${input.tenantId}`);
    const committed = await input.committedInstall(trx);
    if (committed) return committed;
    const live = await trx
      .selectFrom('installs')
      .selectAll()
      .where('integration_id', '=', input.integrationId)
      .where('tenant_id', '=', input.tenantId)
      .where('status', 'in', ['pending', 'success'])
      .where('deleted_at', 'is', null)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (live) {
      const before = JSON.parse(live.connection_ids) as string[];
      const after = await addConnection(trx, live, input);
      await input.linkSession(trx, live.id);
      await writeAudit(trx, {
        ...input.by,
        action: 'install.updated',
        targetType: 'install',
        targetId: live.id,
        details: { integrationId: input.integrationId, tenantId: input.tenantId, sessionId: input.sessionId, connectionIds: { before, after } },
      });
      return live.id;
    }
    const id = await insertInstall(trx, input);
    if (id === null) {
      // This session's install, inserted by a commit the lock does not cover (another SQLite process).
      const existing = await trx.selectFrom('installs').select('id').where('session_id', '=', input.sessionId).executeTakeFirstOrThrow();
      return existing.id;
    }
    await writeTags(trx, id, input.tags);
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
        connectionIds: [input.connectionId],
        tags: input.tags,
      },
    });
    await emitWebhookEvent(trx, 'install.created', toView(await trx.selectFrom('installs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()));
    return id;
  });
}

/** A new install for the tenant; null when this session's install exists already. */
async function insertInstall(trx: Transaction<Database>, input: CommitInput): Promise<string | null> {
  const now = isoNow();
  const inserted = await trx
    .insertInto('installs')
    .values({
      id: newId('ins'),
      integration_id: input.integrationId,
      tenant_id: input.tenantId,
      session_id: input.sessionId,
      tags: JSON.stringify(input.tags),
      connection_ids: JSON.stringify([input.connectionId]),
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
  return inserted?.id ?? null;
}

/**
 * Adds the session's connection to the tenant's install, in the place of the connection it had
 * for the same connector (a re-authorized connection keeps its id, so nothing moves).
 */
async function addConnection(trx: Transaction<Database>, install: InstallsTable, input: CommitInput): Promise<string[]> {
  const current = JSON.parse(install.connection_ids) as string[];
  const rows = await trx
    .selectFrom('connections')
    .select(['id', 'connector_id'])
    .where('id', 'in', [...current, input.connectionId])
    .execute();
  const connectorOf = new Map(rows.map((row) => [row.id, row.connector_id]));
  const connector = connectorOf.get(input.connectionId);
  const kept = current.filter((id) => id !== input.connectionId && connectorOf.get(id) !== connector);
  const replaced = current.findIndex((id) => !kept.includes(id));
  const connectionIds = [...kept];
  connectionIds.splice(replaced < 0 ? kept.length : replaced, 0, input.connectionId);
  const tags = { ...(JSON.parse(install.tags) as Record<string, string>), ...input.tags };
  const config = { ...(JSON.parse(install.config) as Record<string, string>), ...input.config };
  await trx
    .updateTable('installs')
    .set({ connection_ids: JSON.stringify(connectionIds), tags: JSON.stringify(tags), config: JSON.stringify(config), updated_at: isoNow() })
    .where('id', '=', install.id)
    .execute();
  await trx.deleteFrom('install_tags').where('install_id', '=', install.id).execute();
  await writeTags(trx, install.id, tags);
  return connectionIds;
}

async function writeTags(trx: Transaction<Database>, installId: string, tags: Record<string, string>): Promise<void> {
  const rows = Object.entries(tags).map(([tag_key, tag_value]) => ({ install_id: installId, tag_key, tag_value }));
  if (rows.length > 0) await trx.insertInto('install_tags').values(rows).execute();
}

/**
 * The asynchronous half of an install: confirms its connections are usable and settles
 * operationState. Runs after commit answers, and again at start-up for installs left pending.
 */
export async function completeInstall(deps: Pick<AppContext, 'store' | 'activeInstalls'>, installId: string): Promise<void> {
  const install = await deps.store.db.selectFrom('installs').selectAll().where('id', '=', installId).executeTakeFirst();
  if (!install || install.status !== 'pending') return;
  const connectionIds = JSON.parse(install.connection_ids) as string[];
  const connections = await deps.store.db.selectFrom('connections').select(['id', 'status']).where('id', 'in', connectionIds).execute();
  const usable = connections.length === connectionIds.length && connections.every((connection) => connection.status === 'active');
  await deps.activeInstalls.forgetAfter(install.integration_id, install.tenant_id, () => settle(deps, installId, usable));
}

/** Moves a pending install to success or failed (only one still pending: a second completion changes nothing). */
async function settle(deps: Pick<AppContext, 'store'>, installId: string, usable: boolean): Promise<void> {
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

export async function resumePendingInstalls(deps: Pick<AppContext, 'store' | 'activeInstalls'>): Promise<number> {
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
  return pageOf(rows, query.limit, toView);
}

/** Installs are soft-deleted so audit and history keep their references. */
export async function deleteInstall(
  deps: Pick<AppContext, 'store' | 'activeInstalls'>,
  integrationId: string,
  install: { id: string; tenantId: string },
  by: AuditActor,
): Promise<void> {
  const installId = install.id;
  await deps.activeInstalls.forgetAfter(integrationId, install.tenantId, () => deleteInTransaction(deps, integrationId, installId, by));
}

async function deleteInTransaction(deps: Pick<AppContext, 'store'>, integrationId: string, installId: string, by: AuditActor): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const deleted = await trx
      .updateTable('installs')
      .set({ deleted_at: isoNow(), updated_at: isoNow() })
      .where('id', '=', installId)
      .where('integration_id', '=', integrationId)
      .where('deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!deleted) throw notFound('install_not_found', 'No such install.');
    await writeAudit(trx, {
      ...by,
      action: 'install.deleted',
      targetType: 'install',
      targetId: installId,
      details: { integrationId, tenantId: deleted.tenant_id, connectionIds: JSON.parse(deleted.connection_ids) as string[] },
    });
    await emitWebhookEvent(trx, 'install.deleted', toView(deleted));
  });
}

/**
 * The tenant's install of an integration, which tenant actions run against: one per tenant since
 * commits add to it (commitInstall); the newest when older data holds several. As read within the
 * cache window (active-cache.ts): the writes above have it forgotten once committed.
 */
export function recentActiveInstall(deps: Pick<AppContext, 'store' | 'activeInstalls'>, integrationId: string, tenantId: string): Promise<InstallView | null> {
  return deps.activeInstalls.read(integrationId, tenantId, () => findActiveInstall(deps, integrationId, tenantId));
}

async function findActiveInstall(deps: Pick<AppContext, 'store'>, integrationId: string, tenantId: string): Promise<InstallView | null> {
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
