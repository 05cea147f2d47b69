/** `patchbay partners …` over the API (`/v1/partners`, and EnSync's `POST /api/v1/external/partner` to invite). */
import { parseArgs } from 'node:util';
import type { Environment } from '../settings.js';
import { clientFrom } from './client.js';
import { out, positionalsExactly, UsageError } from './output.js';
import { bodyOf, dispatch, fileFlag, listCommand, pageFlags, printJson, printSecretOnce, remoteFlags } from './remote.js';
import { type Column, iso, renderDetails, renderSection } from './table.js';

interface PartnerView {
  id: string;
  appName: string | null;
  appDescription: string | null;
  contact?: string | null;
  status: string;
  metadata: Record<string, unknown>;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  grants?: Array<{ id: string; topic: string; environment: string; send: boolean; receive: boolean }>;
  keys?: Array<{ id: string; environment: string; prefix: string; createdAt: string; expiresAt: string | null; lastAuthenticatedAt: string | null }>;
}

export const PARTNERS_USAGE = `Usage:
  patchbay partners list [--status STATUS] [--tag TAG] [--search TEXT] [--limit N] [--cursor CURSOR] [--all]
  patchbay partners show <partner id>
  patchbay partners invite [--file FILE|-] [--name APP_NAME] [--description TEXT] [--color #RRGGBB] [--icon HTTPS-URL] [--owner TEXT] [--tag TAG ...]
  patchbay partners create …                            (the same as invite)
  patchbay partners update <partner id> [--file FILE|-] [--name APP_NAME] [--description TEXT] [--color #RRGGBB] [--icon HTTPS-URL] [--owner TEXT] [--tag TAG ...]
  patchbay partners link <partner id>                   (a new one-time onboarding link)
  patchbay partners revoke-links|suspend|reinstate <partner id>
Each takes [--server URL] [--json]. invite and link print the one-time link once: it is the partner's way in.`;

const LIST: Column<PartnerView>[] = [
  { header: 'id', value: (p) => p.id },
  { header: 'name', value: (p) => p.appName, max: 32 },
  { header: 'status', value: (p) => p.status },
  { header: 'tags', value: (p) => p.tags, max: 32 },
  { header: 'owner', value: (p) => p.metadata.owner, max: 32 },
  { header: 'created', value: (p) => iso(p.createdAt) },
];

function renderPartner(partner: PartnerView): string {
  const { color, icon, owner, tags: _tags, ...rest } = partner.metadata;
  return [
    renderDetails([
      ['id', partner.id],
      ['name', partner.appName],
      ['description', partner.appDescription],
      ['status', partner.status],
      ['contact', partner.contact],
      ['owner', owner],
      ['colour', color],
      ['icon', icon],
      ['tags', partner.tags],
      ...(Object.keys(rest).length > 0 ? ([['metadata', rest]] as const) : []),
      ['created', iso(partner.createdAt)],
      ['updated', iso(partner.updatedAt)],
    ]),
    ...(partner.grants
      ? [
          renderSection('Topic grants', partner.grants, [
            { header: 'id', value: (g) => g.id },
            { header: 'topic', value: (g) => g.topic },
            { header: 'environment', value: (g) => g.environment },
            { header: 'send', value: (g) => (g.send ? 'yes' : '') },
            { header: 'receive', value: (g) => (g.receive ? 'yes' : '') },
          ]),
        ]
      : []),
    ...(partner.keys
      ? [
          renderSection('Partner keys', partner.keys, [
            { header: 'id', value: (k) => k.id },
            { header: 'environment', value: (k) => k.environment },
            { header: 'prefix', value: (k) => `${k.prefix}…` },
            { header: 'created', value: (k) => iso(k.createdAt) },
            { header: 'expires', value: (k) => iso(k.expiresAt) },
            { header: 'last used', value: (k) => iso(k.lastAuthenticatedAt) },
          ]),
        ]
      : []),
  ].join('\n');
}

const fieldFlags = {
  name: { type: 'string' },
  description: { type: 'string' },
  color: { type: 'string' },
  icon: { type: 'string' },
  owner: { type: 'string' },
  tag: { type: 'string', multiple: true },
} as const;

type FieldValues = { [name in keyof typeof fieldFlags]?: (typeof fieldFlags)[name] extends { multiple: true } ? string[] : string };

/** The body: `--file`, then the flags over it; the typed metadata flags go into `metadata`, next to what the file holds there. */
async function partnerBody(file: string | undefined, values: FieldValues): Promise<Record<string, unknown>> {
  const body = await bodyOf(file, { appName: values.name, appDescription: values.description });
  const metadata = Object.fromEntries(
    Object.entries({ color: values.color, icon: values.icon, owner: values.owner, tags: values.tag }).filter(([, value]) => value !== undefined),
  );
  if (Object.keys(metadata).length > 0) body.metadata = { ...(body.metadata as Record<string, unknown> | undefined), ...metadata };
  return body;
}

const path = (id: string) => `/v1/partners/${encodeURIComponent(id)}`;

function printLink(url: string) {
  printSecretOnce('One-time onboarding link', url, 'Send it to the partner over a private channel: whoever opens it first onboards as this partner.');
}

async function list(argv: string[], env: Environment) {
  const { values } = parseArgs({
    args: argv,
    options: { ...remoteFlags, ...pageFlags, status: { type: 'string' }, tag: { type: 'string' }, search: { type: 'string' } },
    strict: true,
  });
  return listCommand(clientFrom(values, env), '/v1/partners', { status: values.status, tag: values.tag, search: values.search }, values, LIST);
}

async function show(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay partners show <partner id>');
  const { body } = await clientFrom(values, env).get<PartnerView>(path(id!));
  if (values.json) printJson(body);
  else out(renderPartner(body!));
  return 0;
}

async function invite(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...fileFlag, ...fieldFlags }, allowPositionals: true, strict: true });
  positionalsExactly(positionals, 0, 'patchbay partners invite [--file FILE] [--name APP_NAME] …');
  const api = clientFrom(values, env);
  const { body } = await api.request<{ data: { id: string; url: string } }>('POST', '/api/v1/external/partner', {
    body: await partnerBody(values.file, values),
  });
  if (values.json) printJson(body);
  else {
    out(`Created partner ${body!.data.id}${values.name ? ` (${values.name})` : ''}.`);
    printLink(body!.data.url);
  }
  return 0;
}

async function update(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...fileFlag, ...fieldFlags }, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay partners update <partner id> [--file FILE] [--name APP_NAME] …');
  const api = clientFrom(values, env);
  const input = await partnerBody(values.file, values);
  if (Object.keys(input).length === 0)
    throw new UsageError('Nothing to change: give --file or a field flag (--name, --description, --color, --icon, --owner, --tag).');
  const { body } = await api.request<PartnerView | { data: PartnerView }>('PATCH', path(id!), { body: input });
  if (values.json) printJson(body);
  else out(`Updated partner ${id}.\n\n${renderPartner('data' in body! ? body.data : body!)}`);
  return 0;
}

async function link(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay partners link <partner id>');
  const { body } = await clientFrom(values, env).request<{ data: { url: string; expiresAt: string } }>('POST', `${path(id!)}/links`);
  if (values.json) printJson(body);
  else {
    out(`New onboarding link for partner ${id}; it expires at ${iso(body!.data.expiresAt)}.`);
    printLink(body!.data.url);
  }
  return 0;
}

/** suspend, reinstate and revoke-links: one POST without a body. */
function partnerAction(action: 'suspend' | 'reinstate' | 'links/revoke', done: string) {
  return async (argv: string[], env: Environment) => {
    const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
    const [id] = positionalsExactly(positionals, 1, `patchbay partners ${action === 'links/revoke' ? 'revoke-links' : action} <partner id>`);
    const { body } = await clientFrom(values, env).request<PartnerView | { data: { revoked: number } }>('POST', `${path(id!)}/${action}`);
    if (values.json) printJson(body);
    else if (body && 'data' in body) out(`Partner ${id}: ${body.data.revoked} unused link(s) revoked.`);
    else out(`Partner ${id} ${done}.\n\n${renderPartner(body!)}`);
    return 0;
  };
}

export function partners(argv: string[], env: Environment): Promise<number> {
  return dispatch(
    argv,
    env,
    {
      list,
      show,
      invite,
      create: invite,
      update,
      link,
      'revoke-links': partnerAction('links/revoke', 'links revoked'),
      suspend: partnerAction('suspend', 'suspended'),
      reinstate: partnerAction('reinstate', 'reinstated'),
    },
    PARTNERS_USAGE,
  );
}
