/**
 * `patchbay connections …` over the API (`/v1/connections`). There is no create or update: a
 * connection is made by a tenant in the hosted flow (a session), with credentials only the tenant holds.
 */
import { parseArgs } from 'node:util';
import type { Environment } from '../settings.js';
import { clientFrom } from './client.js';
import { out, positionalsExactly } from './output.js';
import { dispatch, listCommand, pageFlags, printJson, remoteFlags } from './remote.js';
import { type Column, iso, renderDetails } from './table.js';

interface ConnectionView {
  id: string;
  connector: string;
  tenantId: string;
  label: string | null;
  authMethod: string;
  status: string;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  health: string;
  healthReason: string | null;
  lastRefreshedAt: string | null;
  lastVerifiedAt: string | null;
  lastError: string | null;
}

interface ConnectionRequest {
  id: string;
  method: string;
  path: string;
  status: number | null;
  durationMs: number;
  at: string;
}

export const CONNECTIONS_USAGE = `Usage:
  patchbay connections list [--tenant TENANT] [--connector SLUG] [--status active|needs_reauth|revoked] [--limit N] [--cursor CURSOR] [--all]
  patchbay connections show <connection id>             (with its health)
  patchbay connections requests <connection id> [--limit N] [--cursor CURSOR] [--all]   (its last upstream calls)
  patchbay connections delete <connection id>          (revokes it: its credentials are erased)
Each takes [--server URL] [--json]. Connections are made by tenants in the hosted flow, not here.`;

const LIST: Column<ConnectionView>[] = [
  { header: 'id', value: (c) => c.id },
  { header: 'connector', value: (c) => c.connector },
  { header: 'tenant', value: (c) => c.tenantId, max: 32 },
  { header: 'method', value: (c) => c.authMethod },
  { header: 'status', value: (c) => c.status },
  { header: 'expires', value: (c) => iso(c.expiresAt) },
  { header: 'created', value: (c) => iso(c.createdAt) },
];

const renderConnection = (connection: ConnectionView) =>
  renderDetails([
    ['id', connection.id],
    ['connector', connection.connector],
    ['tenant', connection.tenantId],
    ['label', connection.label],
    ['auth method', connection.authMethod],
    ['status', connection.status],
    ['health', connection.healthReason ? `${connection.health} (${connection.healthReason})` : connection.health],
    ['last refreshed', iso(connection.lastRefreshedAt)],
    ['last verified', iso(connection.lastVerifiedAt)],
    ['last error', connection.lastError],
    ['expires', iso(connection.expiresAt)],
    ['created', iso(connection.createdAt)],
    ['updated', iso(connection.updatedAt)],
  ]);

const path = (id: string) => `/v1/connections/${encodeURIComponent(id)}`;

async function list(argv: string[], env: Environment) {
  const { values } = parseArgs({
    args: argv,
    options: { ...remoteFlags, ...pageFlags, tenant: { type: 'string' }, connector: { type: 'string' }, status: { type: 'string' } },
    strict: true,
  });
  const query = { tenantId: values.tenant, connector: values.connector, status: values.status };
  return listCommand(clientFrom(values, env), '/v1/connections', query, values, LIST);
}

async function show(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay connections show <connection id>');
  const { body } = await clientFrom(values, env).get<ConnectionView>(path(id!));
  if (values.json) printJson(body);
  else out(renderConnection(body!));
  return 0;
}

const REQUESTS: Column<ConnectionRequest>[] = [
  { header: 'at', value: (r) => iso(r.at) },
  { header: 'method', value: (r) => r.method },
  { header: 'path', value: (r) => r.path, max: 60 },
  { header: 'status', value: (r) => (r.status === null ? 'no answer' : String(r.status)) },
  { header: 'ms', value: (r) => String(r.durationMs) },
];

async function requests(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...pageFlags }, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay connections requests <connection id>');
  return listCommand(clientFrom(values, env), `${path(id!)}/requests`, {}, values, REQUESTS);
}

async function remove(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay connections delete <connection id>');
  const { body } = await clientFrom(values, env).request<ConnectionView>('DELETE', path(id!));
  if (values.json) printJson(body);
  else out(`Revoked connection ${id}.\n\n${renderConnection(body!)}`);
  return 0;
}

export function connections(argv: string[], env: Environment): Promise<number> {
  return dispatch(argv, env, { list, show, requests, delete: remove }, CONNECTIONS_USAGE);
}
