import { actorOf } from '../audit/actor.js';
import { Router } from 'express';
import { jsonBody } from '../http/body.js';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import type { CredentialBroker } from '../connections/broker.js';
import { decryptCredentials } from '../connections/credentials.js';
import { getConnection } from '../connections/service.js';
import { assertTenantAllowed, authenticate } from '../http/auth.js';
import { badRequest, notFound } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import { secretsOf } from './auth-methods.js';
import { createConnectorSchema, updateConnectorSchema } from './schema.js';
import { deleteConnector, updateConnector } from './manage.js';
import { deleteQuerySchema } from '../integrations/schema.js';
import { createConnector } from './service.js';
import { callUpstream, readBody } from './upstream.js';
import { fillPath } from '../integrations/actions.js';
import type { actionTestAnswerSchema, connectorPageSchema } from './schema.js';

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(100),
  cursor: z.string().max(64).optional(),
});

export const testActionSchema = z.strictObject({
  connectionId: z.string().regex(/^con_[0-9A-Za-z]{22}$/),
  input: z.record(z.string(), z.string().max(1000)).default({}),
});

const MASK = '••••';

/**
 * Every form a secret can take in an upstream's answer: as sent, URL-encoded (an API key in the
 * query, echoed back in an error message) and JSON-escaped (in a text body). Longest first, so a
 * form that contains another is masked whole. Values under 4 characters are left alone: masking
 * them would scramble ordinary text.
 */
function secretForms(secrets: string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets.filter((candidate) => candidate.length >= 4)) {
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function maskText(text: string, forms: string[]): string {
  return forms.reduce((out, form) => out.split(form).join(MASK), text);
}

/** Masks inside the parsed value (never in its JSON text, where escaping would hide a secret and a cut could break the JSON). */
function maskValue(value: unknown, forms: string[]): unknown {
  if (typeof value === 'string') return maskText(value, forms);
  if (typeof value === 'number') return forms.includes(String(value)) ? MASK : value;
  if (Array.isArray(value)) return value.map((item) => maskValue(item, forms));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [maskText(key, forms), maskValue(item, forms)]));
  return value;
}

export function connectorRoutes(ctx: AppContext, broker: CredentialBroker): Router {
  const router = Router();
  router.use(jsonBody({ limit: '64kb' }));

  router.get('/', authenticate(ctx, { scope: 'connectors:read' }), async function listConnectorsHandler(req, res) {
    const query = parseInput(listQuerySchema, req.query);
    await ctx.catalog.refresh();
    // Ordered by slug, which is also the cursor: stable across instances and across creates.
    const after = [...ctx.catalog.connectors.values()]
      .filter((connector) => query.cursor === undefined || connector.slug > query.cursor)
      .sort((a, b) => (a.slug < b.slug ? -1 : 1));
    const page = after.slice(0, query.limit);
    res.json({ data: page, next: after.length > query.limit ? page[page.length - 1]!.slug : null } satisfies z.output<typeof connectorPageSchema>);
  });

  router.post('/', authenticate(ctx, { scope: 'connectors:write' }), async function createConnectorHandler(req, res) {
    const input = parseInput(createConnectorSchema, req.body ?? {});
    res.status(201).json(await createConnector(ctx, input, actorOf(res)));
  });

  router.get('/:slug', authenticate(ctx, { scope: 'connectors:read' }), async function readConnectorHandler(req, res) {
    // Another instance may have made, changed or deleted it.
    await ctx.catalog.refresh();
    const connector = ctx.catalog.connectors.get(String(req.params.slug));
    if (!connector) throw notFound('connector_not_found', 'No such connector.');
    res.json(connector);
  });

  router.patch('/:slug', authenticate(ctx, { scope: 'connectors:write' }), async function updateConnectorHandler(req, res) {
    const patch = parseInput(updateConnectorSchema, req.body ?? {});
    const updated = await updateConnector(ctx, String(req.params.slug), patch, actorOf(res));
    // Removing an auth method moves that connector's connections to needs_reauth.
    ctx.connectionRows.forget();
    res.json(updated);
  });

  router.delete('/:slug', authenticate(ctx, { scope: 'connectors:write' }), async function deleteConnectorHandler(req, res) {
    const { force } = parseInput(deleteQuerySchema, req.query);
    const deleted = await deleteConnector(ctx, String(req.params.slug), force === 'true', actorOf(res));
    // A forced delete revoked the connector's connections.
    ctx.connectionRows.forget();
    res.json(deleted);
  });

  /** Runs one action with a given connection and shows what came back, secrets masked. */
  router.post('/:slug/actions/:action/test', authenticate(ctx, { scope: 'connectors:write' }), async function testActionHandler(req, res) {
    const connector = ctx.catalog.connectors.get(String(req.params.slug));
    if (!connector) throw notFound('connector_not_found', 'No such connector.');
    // Own keys only: a name such as `constructor` must not find what every object inherits.
    const name = String(req.params.action);
    const action = Object.hasOwn(connector.actions, name) ? connector.actions[name] : undefined;
    if (!action) throw notFound('action_not_found', `Connector ${connector.slug} has no action "${String(req.params.action)}".`);
    const input = parseInput(testActionSchema, req.body ?? {});
    const connection = await getConnection(ctx, input.connectionId);
    if (!connection || connection.connector !== connector.slug) throw badRequest('connection_not_found', 'connectionId is not a connection of this connector.');
    // A key restricted to one tenant tests with that tenant's connections only.
    assertTenantAllowed(ctx, req, res, connection.tenantId);
    const response = await callUpstream(ctx, broker, ctx.customAuthMethods, {
      connector,
      connectionId: connection.id,
      method: action.method,
      path: fillPath(action.path, input.input),
      query: action.query,
      headers: action.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: action.body === undefined ? undefined : JSON.stringify(action.body),
    });
    const row = await ctx.store.db.selectFrom('connections').selectAll().where('id', '=', connection.id).executeTakeFirstOrThrow();
    const forms = secretForms(secretsOf(decryptCredentials(ctx, row)));
    const headers = Object.fromEntries([...response.headers].map(([name, value]) => [name, maskText(value, forms)]));
    res.json({ status: response.status, headers, body: maskValue(await readBody(response), forms) } satisfies z.output<typeof actionTestAnswerSchema>);
  });

  return router;
}
