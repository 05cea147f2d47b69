/** `patchbay connectors …` over the API (`/v1/connectors`). */
import { parseArgs } from 'node:util';
import type { Environment } from '../settings.js';
import { clientFrom } from './client.js';
import { out, positionalsExactly, UsageError } from './output.js';
import { bodyOf, deleteCommand, dispatch, fileFlag, listCommand, pageFlags, printJson, remoteFlags } from './remote.js';
import { type Column, iso, renderDetails, renderSection } from './table.js';

interface AuthMethodView {
  type: string;
  label?: string;
  default?: boolean;
  in?: string;
  name?: string;
  issuer?: string;
  authorizationUrl?: string;
  clientId?: string;
  scopes?: string[];
  hasClientSecret?: boolean;
  handler?: string;
}

interface ConnectorView {
  slug: string;
  name: string;
  description?: string;
  domain?: string;
  visibility: string;
  iconUrl?: string;
  baseUrl: string;
  authMethods: AuthMethodView[];
  actions: Record<string, { method: string; path: string }>;
  verifyAction?: string;
  verifyEvery?: string;
  source?: string;
  createdAt?: string;
  updatedAt?: string;
}

export const CONNECTORS_USAGE = `Usage:
  patchbay connectors list [--limit N] [--cursor CURSOR] [--all]
  patchbay connectors show <slug>
  patchbay connectors create --file FILE|- [--slug SLUG] [--name NAME] [--description TEXT] [--visibility private|shared] [--base-url URL]
  patchbay connectors update <slug> [--file FILE|-] [--name NAME] [--description TEXT] [--visibility private|shared] [--base-url URL]
  patchbay connectors delete <slug> [--force]
  patchbay connectors test <slug> <action> --connection CONNECTION_ID [--input NAME=VALUE ...]
Each takes [--server URL] [--json]; FILE is the connector as JSON (authMethods, actions, …).
test exits 1 when the upstream answers other than 2xx.`;

/** The methods in order, the default marked with *. */
const methodsOf = (connector: ConnectorView) => connector.authMethods.map((method) => `${method.type}${method.default ? '*' : ''}`).join(',');

const LIST: Column<ConnectorView>[] = [
  { header: 'slug', value: (c) => c.slug },
  { header: 'name', value: (c) => c.name, max: 32 },
  { header: 'visibility', value: (c) => c.visibility },
  { header: 'source', value: (c) => c.source },
  { header: 'auth', value: methodsOf },
  { header: 'actions', value: (c) => Object.keys(c.actions ?? {}).length },
  { header: 'updated', value: (c) => iso(c.updatedAt) },
];

/** What identifies a method beyond its type; never a secret (the API only says whether a client secret is set). */
function methodDetails(method: AuthMethodView): string {
  switch (method.type) {
    case 'apiKey':
      return `${method.in ?? 'header'} ${method.name ?? ''}`;
    case 'oauth2':
      return [
        method.issuer ?? method.authorizationUrl,
        `client ${method.clientId}`,
        method.hasClientSecret ? 'client secret set' : 'no client secret',
        method.scopes?.length ? `scopes ${method.scopes.join(' ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
    case 'custom':
      return `handler ${method.handler}`;
    default:
      return '';
  }
}

export function renderConnector(connector: ConnectorView): string {
  const actions = Object.entries(connector.actions ?? {}).map(([name, action]) => ({ name, ...action }));
  return [
    renderDetails([
      ['slug', connector.slug],
      ['name', connector.name],
      ['description', connector.description],
      ['visibility', connector.visibility],
      ['source', connector.source],
      ['base URL', connector.baseUrl],
      ['domain', connector.domain],
      ['icon URL', connector.iconUrl],
      ['verify action', connector.verifyAction],
      ['verify every', connector.verifyEvery],
      ['created', iso(connector.createdAt)],
      ['updated', iso(connector.updatedAt)],
    ]),
    renderSection('Auth methods', connector.authMethods, [
      { header: 'type', value: (m) => m.type },
      { header: 'label', value: (m) => m.label },
      { header: 'default', value: (m) => (m.default ? 'yes' : '') },
      { header: 'details', value: methodDetails },
    ]),
    renderSection('Actions', actions, [
      { header: 'action', value: (a) => a.name },
      { header: 'method', value: (a) => a.method },
      { header: 'path', value: (a) => a.path },
    ]),
  ].join('\n');
}

const fieldFlags = {
  name: { type: 'string' },
  description: { type: 'string' },
  visibility: { type: 'string' },
  'base-url': { type: 'string' },
} as const;

const fieldsOf = (values: {
  name?: string | undefined;
  description?: string | undefined;
  visibility?: string | undefined;
  'base-url'?: string | undefined;
}) => ({
  name: values.name,
  description: values.description,
  visibility: values.visibility,
  baseUrl: values['base-url'],
});

const path = (slug: string) => `/v1/connectors/${encodeURIComponent(slug)}`;

async function list(argv: string[], env: Environment) {
  const { values } = parseArgs({ args: argv, options: { ...remoteFlags, ...pageFlags }, strict: true });
  return listCommand(clientFrom(values, env), '/v1/connectors', {}, values, LIST);
}

async function show(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [slug] = positionalsExactly(positionals, 1, 'patchbay connectors show <slug>');
  const { body } = await clientFrom(values, env).get<ConnectorView>(path(slug!));
  if (values.json) printJson(body);
  else out(renderConnector(body!));
  return 0;
}

async function create(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...fileFlag, ...fieldFlags, slug: { type: 'string' } }, strict: true });
  positionalsExactly(positionals, 0, 'patchbay connectors create --file FILE [--slug SLUG] [--name NAME] …');
  const api = clientFrom(values, env);
  const input = await bodyOf(values.file, { ...fieldsOf(values), slug: values.slug });
  const { body } = await api.request<ConnectorView>('POST', '/v1/connectors', { body: input });
  if (values.json) printJson(body);
  else out(`Created connector ${body!.slug}.\n\n${renderConnector(body!)}`);
  return 0;
}

async function update(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...fileFlag, ...fieldFlags }, allowPositionals: true, strict: true });
  const [slug] = positionalsExactly(positionals, 1, 'patchbay connectors update <slug> [--file FILE] [--name NAME] …');
  const api = clientFrom(values, env);
  const input = await bodyOf(values.file, fieldsOf(values));
  if (Object.keys(input).length === 0)
    throw new UsageError('Nothing to change: give --file or a field flag (--name, --description, --visibility, --base-url).');
  const { body } = await api.request<ConnectorView>('PATCH', path(slug!), { body: input });
  if (values.json) printJson(body);
  else out(`Updated connector ${slug}.\n\n${renderConnector(body!)}`);
  return 0;
}

async function remove(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, force: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const [slug] = positionalsExactly(positionals, 1, 'patchbay connectors delete <slug> [--force]');
  return deleteCommand(clientFrom(values, env), path(slug!), values, `connector ${slug}`);
}

/** `--input name=value`, repeated: the action's path placeholders. */
function inputOf(pairs: string[] | undefined): Record<string, string> {
  const input: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const equals = pair.indexOf('=');
    if (equals < 1) throw new UsageError(`--input: "${pair}" is not NAME=VALUE.`);
    input[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return input;
}

async function test(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...remoteFlags, connection: { type: 'string' }, input: { type: 'string', multiple: true } },
    allowPositionals: true,
    strict: true,
  });
  const usage = 'patchbay connectors test <slug> <action> --connection CONNECTION_ID [--input NAME=VALUE ...]';
  const [slug, action] = positionalsExactly(positionals, 2, usage);
  if (!values.connection) throw new UsageError(`--connection is required.\nUsage: ${usage}`);
  const api = clientFrom(values, env);
  const { body } = await api.request<{ status: number; headers: Record<string, string>; body: unknown }>(
    'POST',
    `${path(slug!)}/actions/${encodeURIComponent(action!)}/test`,
    { body: { connectionId: values.connection, input: inputOf(values.input) } },
  );
  // The exit code says whether the action works: 1 when the upstream answered other than 2xx.
  const works = body!.status >= 200 && body!.status < 300 ? 0 : 1;
  if (values.json) {
    printJson(body);
    return works;
  }
  out(`${slug} ${action}: the upstream answered ${body!.status}${body!.headers['content-type'] ? ` (${body!.headers['content-type']})` : ''}`);
  out(typeof body!.body === 'string' ? body!.body : JSON.stringify(body!.body, null, 2));
  return works;
}

export function connectors(argv: string[], env: Environment): Promise<number> {
  return dispatch(argv, env, { list, show, create, update, delete: remove, test }, CONNECTORS_USAGE);
}
