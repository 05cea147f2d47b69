import { writeAudit } from '../audit/service.js';
import { revokeConnectionIn, toConnectionView } from '../connections/service.js';
import { emitWebhookEvent } from '../webhooks/emit.js';
import type { AppContext } from '../context.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import { isoNow } from '../store/time.js';
import { changedFields } from '../audit/service.js';
import { type Connector, declarationOf } from './catalog.js';
import { assertMethodsUsable } from './service.js';
import type { z } from 'zod';
import { type AuthMethod, connectorDeclarationSchema, defaultMethod, type deletedConnectorSchema, type UpdateConnectorInput } from './schema.js';

type Deps = Pick<AppContext, 'store' | 'catalog' | 'customAuthMethods' | 'keyring' | 'config'>;

/** The connector, if the API may change it: one the config file declares answers 409. */
async function loadManaged(deps: Pick<AppContext, 'catalog'>, slug: string): Promise<Connector> {
  await deps.catalog.refresh();
  const connector = deps.catalog.connectors.get(slug);
  if (!connector) throw notFound('connector_not_found', 'No such connector.');
  if (connector.source === 'file')
    throw conflict('managed_by_file', `Connector "${slug}" is declared in ${deps.catalog.fileName}: change it there (it is read-only through the API).`);
  return connector;
}

/** The ids of the integrations that offer a connector, as the store has them now. */
async function offeredBy(deps: Pick<AppContext, 'catalog'>, slug: string): Promise<string[]> {
  await deps.catalog.refreshIntegrations();
  return [...deps.catalog.integrations.values()].filter((integration) => integration.connectors.includes(slug)).map((integration) => integration.id);
}

/**
 * The methods after a change, with exactly one default: the one marked, else the current default
 * if it is kept. Dropping the default without naming a new one is refused rather than guessed.
 */
function withDefault(current: Connector, methods: AuthMethod[]): AuthMethod[] {
  if (methods.some((method) => method.default)) return methods;
  const kept = defaultMethod(current.authMethods).type;
  if (!methods.some((method) => method.type === kept))
    throw badRequest(
      'invalid_request',
      `authMethods: this change removes the default method (${kept}) and marks no other one default; mark one method "default": true.`,
    );
  return methods.map((method) => ({ ...method, default: method.type === kept }));
}

/**
 * Changes a connector made through the API. Connections whose method is removed become
 * `needs_reauth` in the same transaction: the tenant is asked to sign in again, never left with a
 * connection that fails without a word.
 */
export async function updateConnector(deps: Deps, slug: string, patch: UpdateConnectorInput, actor: string): Promise<Connector> {
  const current = await loadManaged(deps, slug);
  if (patch.authMethods) assertMethodsUsable(deps, patch.authMethods);
  const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  const next = parseInput(connectorDeclarationSchema, {
    ...declarationOf(current),
    ...defined,
    ...(patch.authMethods ? { authMethods: withDefault(current, patch.authMethods) } : {}),
    slug,
  });
  if (next.visibility === 'private') {
    const offering = await offeredBy(deps, slug);
    if (offering.length > 0)
      throw badRequest(
        'invalid_request',
        `visibility: a private connector cannot be offered in an integration, and ${slug} is offered in ${offering.join(', ')}.`,
      );
  }
  const kept = new Set(next.authMethods.map((method) => method.type));
  const removed = current.authMethods.map((method) => method.type).filter((type) => !kept.has(type));
  const secretReplaced = patch.authMethods?.some((method) => method.type === 'oauth2' && method.clientSecret !== undefined) ?? false;
  return deps.catalog.change(async (trx) => {
    const saved = await deps.catalog.save(next, 'api', { db: trx, keepClientSecret: true });
    let needsReauth = 0;
    if (removed.length > 0) {
      const moved = await trx
        .updateTable('connections')
        .set({ status: 'needs_reauth', needs_reauth_reason: 'method_removed', next_check_at: null, updated_at: isoNow() })
        .where('connector_id', '=', slug)
        .where('auth_method', 'in', removed)
        .where('status', '=', 'active')
        .returningAll()
        .execute();
      needsReauth = moved.length;
      for (const row of moved) await emitWebhookEvent(trx, 'connection.needs_reauth', toConnectionView(deps, row));
    }
    await writeAudit(trx, {
      actor,
      action: 'connector.updated',
      targetType: 'connector',
      targetId: slug,
      details: {
        changes: changedFields(current, saved, ['createdAt', 'updatedAt']),
        ...(secretReplaced ? { clientSecretReplaced: true } : {}),
        ...(removed.length ? { needsReauth } : {}),
      },
    });
    return saved;
  });
}

export type DeletedConnector = z.output<typeof deletedConnectorSchema>;

/**
 * Deletes a connector made through the API: never while an integration offers it; with connections
 * only when forced, which revokes them (their rows stay, as a revoke leaves them, without credentials).
 */
export async function deleteConnector(deps: Deps, slug: string, force: boolean, actor: string): Promise<DeletedConnector> {
  const connector = await loadManaged(deps, slug);
  const offering = await offeredBy(deps, slug);
  if (offering.length > 0)
    throw conflict(
      'connector_offered',
      `Connector "${slug}" is offered in ${offering.map((id) => `"${id}"`).join(', ')}: remove it from those integrations first.`,
    );
  return deps.catalog.change(async (trx) => {
    const live = await trx.selectFrom('connections').select('id').where('connector_id', '=', slug).where('status', '!=', 'revoked').execute();
    if (live.length > 0 && !force)
      throw conflict(
        'connector_in_use',
        `Connector "${slug}" has ${live.length} connection${live.length === 1 ? '' : 's'}; delete with ?force=true to revoke ${live.length === 1 ? 'it' : 'them'}.`,
      );
    for (const row of live) await revokeConnectionIn(trx, deps, row.id, { actor });
    await trx.deleteFrom('connectors').where('id', '=', slug).execute();
    await writeAudit(trx, {
      actor,
      action: 'connector.deleted',
      targetType: 'connector',
      targetId: slug,
      details: { name: connector.name, methods: connector.authMethods.map((method) => method.type), revokedConnections: live.length, force },
    });
    return { deleted: { connector: slug, connections: live.length } };
  });
}
