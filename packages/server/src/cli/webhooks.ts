/** `patchbay webhooks …` over the API (`/v1/webhooks`): endpoints, their secrets and delivery logs. */
import { parseArgs } from 'node:util';
import type { Environment } from '../settings.js';
import { clientFrom } from './client.js';
import { out, positionalsExactly, UsageError } from './output.js';
import { bodyOf, dispatch, fileFlag, listCommand, pageFlags, printJson, printSecretOnce, remoteFlags } from './remote.js';
import { type Column, iso, renderDetails } from './table.js';

interface WebhookView {
  id: string;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  previousSecretUntil: string | null;
  failingSince: string | null;
  createdAt: string;
  updatedAt: string;
}

interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  createdAt: string;
}

export const WEBHOOKS_USAGE = `Usage:
  patchbay webhooks list [--limit N] [--cursor CURSOR] [--all]
  patchbay webhooks show <webhook id>
  patchbay webhooks create --url URL --event TYPE [--event TYPE ...] [--description TEXT] [--file FILE|-]
  patchbay webhooks update <webhook id> [--url URL] [--event TYPE ...] [--description TEXT] [--enable|--disable] [--file FILE|-]
  patchbay webhooks delete <webhook id>
  patchbay webhooks rotate-secret <webhook id>       (the old secret keeps signing for the grace window)
  patchbay webhooks deliveries <webhook id> [--status pending|succeeded|failed] [--limit N] [--cursor CURSOR] [--all]
  patchbay webhooks retry <webhook id> <delivery id>
Each takes [--server URL] [--json]. The signing secret (whsec_…) is printed once, by create and rotate-secret.`;

const LIST: Column<WebhookView>[] = [
  { header: 'id', value: (w) => w.id },
  { header: 'url', value: (w) => w.url, max: 48 },
  { header: 'events', value: (w) => w.events.join(','), max: 40 },
  { header: 'enabled', value: (w) => (w.enabled ? 'yes' : `no (${w.disabledReason ?? ''})`) },
  { header: 'created', value: (w) => iso(w.createdAt) },
];

const DELIVERIES: Column<DeliveryView>[] = [
  { header: 'id', value: (d) => d.id },
  { header: 'event', value: (d) => d.eventType },
  { header: 'status', value: (d) => d.status },
  { header: 'attempts', value: (d) => String(d.attempts) },
  { header: 'last', value: (d) => (d.lastStatusCode === null ? (d.lastError ?? '') : String(d.lastStatusCode)), max: 32 },
  { header: 'ms', value: (d) => (d.lastDurationMs === null ? '' : String(d.lastDurationMs)) },
  { header: 'next attempt', value: (d) => iso(d.nextAttemptAt) },
];

const renderWebhook = (webhook: WebhookView) =>
  renderDetails([
    ['id', webhook.id],
    ['url', webhook.url],
    ['description', webhook.description],
    ['events', webhook.events.join(', ')],
    ['enabled', webhook.enabled ? 'yes' : `no (${webhook.disabledReason ?? 'unknown'})`],
    ['failing since', iso(webhook.failingSince)],
    ['old secret signs until', iso(webhook.previousSecretUntil)],
    ['created', iso(webhook.createdAt)],
    ['updated', iso(webhook.updatedAt)],
  ]);

const path = (id: string) => `/v1/webhooks/${encodeURIComponent(id)}`;
const fieldFlags = {
  url: { type: 'string' },
  event: { type: 'string', multiple: true },
  description: { type: 'string' },
} as const;

function printSecret(webhook: WebhookView & { secret: string }) {
  out(renderWebhook(webhook));
  printSecretOnce('Signing secret', webhook.secret, 'Give it to the receiver to verify `webhook-signature` (Standard Webhooks); it is not shown again.');
}

async function list(argv: string[], env: Environment) {
  const { values } = parseArgs({ args: argv, options: { ...remoteFlags, ...pageFlags }, strict: true });
  return listCommand(clientFrom(values, env), '/v1/webhooks', {}, values, LIST);
}

async function show(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay webhooks show <webhook id>');
  const { body } = await clientFrom(values, env).get<WebhookView>(path(id!));
  if (values.json) printJson(body);
  else out(renderWebhook(body!));
  return 0;
}

async function create(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...remoteFlags, ...fileFlag, ...fieldFlags }, allowPositionals: true, strict: true });
  positionalsExactly(positionals, 0, 'patchbay webhooks create --url URL --event TYPE …');
  const body = await bodyOf(values.file, { url: values.url, events: values.event, description: values.description });
  const { body: created } = await clientFrom(values, env).request<WebhookView & { secret: string }>('POST', '/v1/webhooks', { body });
  if (values.json) printJson(created);
  else printSecret(created!);
  return 0;
}

async function update(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...remoteFlags, ...fileFlag, ...fieldFlags, enable: { type: 'boolean' }, disable: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [id] = positionalsExactly(positionals, 1, 'patchbay webhooks update <webhook id> [--url URL] …');
  if (values.enable && values.disable) throw new UsageError('Give --enable or --disable, not both.');
  const enabled = values.enable ? true : values.disable ? false : undefined;
  const body = await bodyOf(values.file, { url: values.url, events: values.event, description: values.description, enabled });
  if (Object.keys(body).length === 0) throw new UsageError('Nothing to change: give --url, --event, --description, --enable, --disable or --file.');
  const { body: updated } = await clientFrom(values, env).request<WebhookView>('PATCH', path(id!), { body });
  if (values.json) printJson(updated);
  else out(`Updated webhook ${id}.\n\n${renderWebhook(updated!)}`);
  return 0;
}

async function remove(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay webhooks delete <webhook id>');
  const { body } = await clientFrom(values, env).request<WebhookView>('DELETE', path(id!));
  if (values.json) printJson(body);
  else out(`Deleted webhook ${id} and its delivery log.`);
  return 0;
}

async function rotateSecret(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id] = positionalsExactly(positionals, 1, 'patchbay webhooks rotate-secret <webhook id>');
  const { body } = await clientFrom(values, env).request<WebhookView & { secret: string }>('POST', `${path(id!)}/rotate-secret`);
  if (values.json) printJson(body);
  else printSecret(body!);
  return 0;
}

async function deliveries(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...remoteFlags, ...pageFlags, status: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [id] = positionalsExactly(positionals, 1, 'patchbay webhooks deliveries <webhook id>');
  return listCommand(clientFrom(values, env), `${path(id!)}/deliveries`, { status: values.status }, values, DELIVERIES);
}

async function retry(argv: string[], env: Environment) {
  const { values, positionals } = parseArgs({ args: argv, options: remoteFlags, allowPositionals: true, strict: true });
  const [id, deliveryId] = positionalsExactly(positionals, 2, 'patchbay webhooks retry <webhook id> <delivery id>');
  const { body } = await clientFrom(values, env).request<DeliveryView>('POST', `${path(id!)}/deliveries/${encodeURIComponent(deliveryId!)}/retry`);
  if (values.json) printJson(body);
  else out(`Delivery ${deliveryId} is queued for an attempt now.`);
  return 0;
}

export function webhooks(argv: string[], env: Environment): Promise<number> {
  return dispatch(argv, env, { list, show, create, update, delete: remove, 'rotate-secret': rotateSecret, deliveries, retry }, WEBHOOKS_USAGE);
}
