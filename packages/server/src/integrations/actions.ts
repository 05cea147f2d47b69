import type { z } from 'zod';
import type { AppContext } from '../context.js';
import type { CredentialBroker } from '../connections/broker.js';
import { recentConnectionRow } from '../connections/service.js';
import type { ConnectionsTable } from '../store/schema.js';
import type { CustomAuthMethods } from '../connectors/auth-methods.js';
import { callUpstream, readBody } from '../connectors/upstream.js';
import { notFound } from '../http/errors.js';
import { recentActiveInstall } from '../installs/service.js';
import { requireIntegration } from '../sessions/service.js';
import type { actionResultSchema } from './schema.js';

export type ActionResult = z.output<typeof actionResultSchema>;

/** Fills `{name}` placeholders with URL-encoded values, so a value can never add a path segment. */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([A-Za-z0-9_.]+)\}/g, (_match, name: string) => encodeURIComponent(values[name] ?? ''));
}

/**
 * Runs one declared action for a tenant with the tenant's own credentials. The tenant's install
 * holds one connection per connector it connected (commits add to it: installs/service.ts
 * `commitInstall`), so the action's connector picks its connection there. Deleting the install
 * ends every action at once on the instance that deleted it, and within the cache window on the
 * others (installs/active-cache.ts).
 */
export async function invokeAction(
  ctx: AppContext,
  broker: CredentialBroker,
  customs: CustomAuthMethods,
  input: { integrationId: string; tenantId: string; action: string; body: unknown },
): Promise<ActionResult> {
  const integration = requireIntegration(ctx, input.integrationId);
  // Own keys only: a name such as `constructor` must not find what every object inherits.
  const action = Object.hasOwn(integration.actions, input.action) ? integration.actions[input.action] : undefined;
  if (!action) throw notFound('action_not_found', `The integration has no action "${input.action}".`);
  const install = await recentActiveInstall(ctx, integration.id, input.tenantId);
  if (!install) throw notFound('install_not_found', `Tenant "${input.tenantId}" has no working install of this integration.`);
  const connector = ctx.catalog.connectors.get(action.connector);
  if (!connector) throw notFound('connector_not_found', `Connector ${action.connector} is not available.`);
  const connection = await connectionFor(ctx, install.connectionIds, action.connector);
  const values: Record<string, string> = { tenantId: input.tenantId };
  for (const [name, value] of Object.entries(install.config)) values[`config.${name}`] = value;
  const withBody = action.forwardBody && action.method !== 'GET';
  const response = await callUpstream(ctx, broker, customs, {
    connector,
    connectionId: connection.id,
    connection,
    method: action.method,
    path: fillPath(action.path, values),
    headers: withBody ? { accept: 'application/json', 'content-type': 'application/json' } : { accept: 'application/json' },
    body: withBody ? JSON.stringify(input.body ?? {}) : undefined,
  });
  return { status: response.status, body: await readBody(response) };
}

/** The install's connection to `connector`, as read within the cache window; the same row then gives the credentials. */
async function connectionFor(deps: Pick<AppContext, 'store' | 'connectionRows'>, connectionIds: string[], connector: string): Promise<ConnectionsTable> {
  const rows = await Promise.all(connectionIds.map((id) => recentConnectionRow(deps, id)));
  const match = rows.find((row) => row?.connector_id === connector);
  if (!match) throw notFound('connection_not_found', `The tenant has not connected ${connector} in this install.`);
  return match;
}
