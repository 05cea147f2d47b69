/** `patchbay integrations …` over the API (`/v1/integrations`). */
import { parseArgs } from 'node:util';
import type { Environment } from '../settings.js';
import { clientFrom } from './client.js';
import { out, positionalsExactly, UsageError } from './output.js';
import { bodyOf, deleteCommand, dispatch, fileFlag, listCommand, pageFlags, printJson, remoteFlags } from './remote.js';
import { type Column, iso, renderDetails, renderSection } from './table.js';

interface IntegrationView {
  id: string;
  name: string;
  description?: string;
  connectors: string[];
  allowedOrigins: string[];
  configFields?: Array<{ name: string; label: string; required?: boolean; description?: string }>;
  actions?: Record<string, { connector: string; method: string; path: string; forwardBody?: boolean }>;
  source?: string;
  createdAt?: string;
  updatedAt?: string;
}

export const INTEGRATIONS_USAGE = `Usage:
  patchbay integrations list [--limit N] [--cursor CURSOR] [--all]
  patchbay integrations show <integration id>
  patchbay integrations create --file FILE|- [--id ID] [--name NAME] [--description TEXT] [--connector SLUG ...] [--origin URL ...]
  patchbay integrations update <integration id> [--file FILE|-] [--name NAME] [--description TEXT] [--connector SLUG ...] [--origin URL ...]
  patchbay integrations delete <integration id> [--force]      (--force also removes its installs)
Each takes [--server URL] [--json]; FILE is the integration as JSON (connectors, allowedOrigins, configFields, actions).`;

const LIST: Column<IntegrationView>[] = [
  { header: 'id', value: (i) => i.id },
  { header: 'name', value: (i) => i.name, max: 32 },
  { header: 'source', value: (i) => i.source },
  { header: 'connectors', value: (i) => i.connectors, max: 40 },
  { header: 'actions', value: (i) => Object.keys(i.actions ?? {}).length },
  { header: 'origins', value: (i) => i.allowedOrigins, max: 40 },
];

export function renderIntegration(integration: IntegrationView): string {
  const actions = Object.entries(integration.actions ?? {}).map(([name, action]) => ({ name, ...action }));
  return [
    renderDetails([
      ['id', integration.id],
      ['name', integration.name],
      ['description', integration.description],
      ['source', integration.source],
      ['connectors', integration.connectors],
      ['allowed origins', integration.allowedOrigins],
      ...(integration.createdAt ? ([['created', iso(integration.createdAt)]] as const) : []),
      ...(integration.updatedAt ? ([['updated', iso(integration.updatedAt)]] as const) : []),
    ]),
    renderSection('Config fields', integration.configFields ?? [], [
      { header: 'name', value: (f) => f.name },
      { header: 'label', value: (f) => f.label, max: 40 },
      { header: 'required', value: (f) => (f.required ? 'yes' : '') },
    ]),
    renderSection('Actions', actions, [
      { header: 'action', value: (a) => a.name },
      { header: 'connector', value: (a) => a.connector },
      { header: 'method', value: (a) => a.method },
      { header: 'path', value: (a) => a.path },
      { header: 'forwards body', value: (a) => (a.forwardBody ? 'yes' : '') },
    ]),
  ].join('\n');
}

const fieldFlags = {
  name: { type: 'string' },
  description: { type: 'string' },
  connector: { type: 'string', multiple: true },
  origin: { type: 'string', multiple: true },
} as const;

const fieldsOf = (values: {
  name?: string | undefined;
  description?: string | undefined;
  connector?: string[] | undefined;
  origin?: string[] | undefined;
}) => ({
  name: values.name,
  description: values.description,
  connectors: values.connector,
  allowedOrigins: values.origin,
});

const path = (id: string) => `/v1/integrations/${encodeURIComponent(id)}`;

async function list(argv: string[], env: Environment) {
  const { values } = parseArgs({ args: argv, options: { ...remoteFlags, ...pageFlags }, strict: true });
  return listCommand(clientFrom(values, env), '/v1/integrations', {}, values, LIST);
}

async function show(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay integrations show <integration id>');
  const { body } = await clientFrom(values, env).get<IntegrationView>(path(id!));
  if (values.json) printJson(body);
  else out(renderIntegration(body!));
  return 0;
}

async function create(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...fileFlag, ...fieldFlags, id: { type: 'string' } }, strict: true });
  positionalsExactly(positionals, 0, 'patchbay integrations create --file FILE [--id ID] [--name NAME] …');
  const api = clientFrom(values, env);
  const input = await bodyOf(values.file, { id: values.id, ...fieldsOf(values) });
  const { body } = await api.request<IntegrationView>('POST', '/v1/integrations', { body: input });
  if (values.json) printJson(body);
  else out(`Created integration ${body!.id}.\n\n${renderIntegration(body!)}`);
  return 0;
}

async function update(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...fileFlag, ...fieldFlags }, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay integrations update <integration id> [--file FILE] [--name NAME] …');
  const api = clientFrom(values, env);
  const input = await bodyOf(values.file, fieldsOf(values));
  if (Object.keys(input).length === 0) throw new UsageError('Nothing to change: give --file or a field flag (--name, --description, --connector, --origin).');
  const { body } = await api.request<IntegrationView>('PATCH', path(id!), { body: input });
  if (values.json) printJson(body);
  else out(`Updated integration ${id}.\n\n${renderIntegration(body!)}`);
  return 0;
}

async function remove(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, force: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay integrations delete <integration id> [--force]');
  return deleteCommand(clientFrom(values, env), path(id!), values, `integration ${id}`);
}

export function integrations(argv: string[], env: Environment): Promise<number> {
  return dispatch(argv, env, { list, show, create, update, delete: remove }, INTEGRATIONS_USAGE);
}
