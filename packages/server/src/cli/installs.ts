/**
 * `patchbay installs …` over the API (`/v1/integrations/{id}/install`). There is no create or
 * update: an install is what a tenant's session commits.
 */
import { parseArgs } from 'node:util';
import type { Environment } from '../settings.js';
import { clientFrom } from './client.js';
import { out, positionalsExactly } from './output.js';
import { deleteCommand, dispatch, listCommand, pageFlags, printJson, remoteFlags } from './remote.js';
import { type Column, iso, pairs, renderDetails } from './table.js';

interface InstallView {
  id: string;
  integrationId: string;
  tenantId: string;
  tags: Record<string, string>;
  connectionIds: string[];
  config: Record<string, string>;
  operationState: { status: string; message?: string };
  createdAt: string;
  updatedAt: string;
}

export const INSTALLS_USAGE = `Usage:
  patchbay installs list <integration id> [--tenant TENANT] [--tag KEY=VALUE ...] [--limit N] [--cursor CURSOR] [--all]
  patchbay installs show <integration id> <install id>
  patchbay installs delete <integration id> <install id>
Each takes [--server URL] [--json]. --tenant T is --tag fusebit.tenantId=T. Installs are made by committing a session.`;

const LIST: Column<InstallView>[] = [
  { header: 'id', value: (i) => i.id },
  { header: 'tenant', value: (i) => i.tenantId, max: 32 },
  { header: 'status', value: (i) => i.operationState.status },
  { header: 'connections', value: (i) => i.connectionIds.length },
  { header: 'tags', value: (i) => pairs(i.tags), max: 48 },
  { header: 'created', value: (i) => iso(i.createdAt) },
];

const renderInstall = (install: InstallView) =>
  renderDetails([
    ['id', install.id],
    ['integration', install.integrationId],
    ['tenant', install.tenantId],
    ['status', install.operationState.status],
    ...(install.operationState.message ? ([['message', install.operationState.message]] as const) : []),
    ['connections', install.connectionIds],
    ['config', pairs(install.config)],
    ['tags', pairs(install.tags)],
    ['created', iso(install.createdAt)],
    ['updated', iso(install.updatedAt)],
  ]);

const base = (integrationId: string) => `/v1/integrations/${encodeURIComponent(integrationId)}/install`;

async function list(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...remoteFlags, ...pageFlags, tenant: { type: 'string' }, tag: { type: 'string', multiple: true } },
    allowPositionals: true,
    strict: true,
  });
  const [integrationId] = positionalsExactly(positionals, 1, 'patchbay installs list <integration id> [--tenant TENANT] [--tag KEY=VALUE ...]');
  const tags = [...(values.tag ?? []), ...(values.tenant === undefined ? [] : [`fusebit.tenantId=${values.tenant}`])];
  return listCommand(clientFrom(values, env), base(integrationId!), { tag: tags }, values, LIST);
}

async function show(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [integrationId, installId] = positionalsExactly(positionals, 2, 'patchbay installs show <integration id> <install id>');
  const { body } = await clientFrom(values, env).get<InstallView>(`${base(integrationId!)}/${encodeURIComponent(installId!)}`);
  if (values.json) printJson(body);
  else out(renderInstall(body!));
  return 0;
}

async function remove(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [integrationId, installId] = positionalsExactly(positionals, 2, 'patchbay installs delete <integration id> <install id>');
  return deleteCommand(clientFrom(values, env), `${base(integrationId!)}/${encodeURIComponent(installId!)}`, values, `install ${installId}`);
}

export function installs(argv: string[], env: Environment): Promise<number> {
  return dispatch(argv, env, { list, show, delete: remove }, INSTALLS_USAGE);
}
