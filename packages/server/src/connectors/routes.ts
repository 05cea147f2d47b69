import express, { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import type { CredentialBroker } from '../connections/service.js';
import { decryptCredentials, getConnection } from '../connections/service.js';
import { authenticate, principalOf } from '../http/auth.js';
import { badRequest, notFound } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import { secretsOf } from './auth-methods.js';
import { createConnectorSchema } from './schema.js';
import { createConnector } from './service.js';
import { callUpstream, readBody } from './upstream.js';
import { fillPath } from '../integrations/service.js';

const testActionSchema = z.strictObject({
  connectionId: z.string().regex(/^con_[0-9A-Za-z]{22}$/),
  input: z.record(z.string(), z.string().max(1000)).default({}),
});

function mask(text: string, secrets: string[]): string {
  return secrets.filter((secret) => secret.length >= 4).reduce((out, secret) => out.split(secret).join('••••'), text);
}

export function connectorRoutes(ctx: AppContext, broker: CredentialBroker): Router {
  const router = Router();
  router.use(express.json({ limit: '64kb' }));

  router.get('/', authenticate(ctx, { scope: 'connectors:read' }), async function listConnectorsHandler(_req, res) {
    await ctx.catalog.refresh();
    res.json({ data: [...ctx.catalog.connectors.values()], next: null });
  });

  router.post('/', authenticate(ctx, { scope: 'connectors:write' }), async function createConnectorHandler(req, res) {
    const input = parseInput(createConnectorSchema, req.body ?? {});
    const principal = principalOf(res);
    res.status(201).json(await createConnector(ctx, input, principal.kind === 'key' ? principal.key.id : 'session'));
  });

  router.get('/:slug', authenticate(ctx, { scope: 'connectors:read' }), function readConnectorHandler(req, res) {
    const connector = ctx.catalog.connectors.get(String(req.params.slug));
    if (!connector) throw notFound('connector_not_found', 'No such connector.');
    res.json(connector);
  });

  /** Runs one action with a given connection and shows what came back, secrets masked. */
  router.post('/:slug/actions/:action/test', authenticate(ctx, { scope: 'connectors:write' }), async function testActionHandler(req, res) {
    const connector = ctx.catalog.connectors.get(String(req.params.slug));
    if (!connector) throw notFound('connector_not_found', 'No such connector.');
    const action = connector.actions[String(req.params.action)];
    if (!action) throw notFound('action_not_found', `Connector ${connector.slug} has no action "${String(req.params.action)}".`);
    const input = parseInput(testActionSchema, req.body ?? {});
    const connection = await getConnection(ctx, input.connectionId);
    if (!connection || connection.connector !== connector.slug) throw badRequest('connection_not_found', 'connectionId is not a connection of this connector.');
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
    const secrets = secretsOf(decryptCredentials(ctx, row));
    const headers = Object.fromEntries([...response.headers].map(([name, value]) => [name, mask(value, secrets)]));
    const body = await readBody(response);
    res.json({ status: response.status, headers, body: JSON.parse(mask(JSON.stringify(body), secrets)) as unknown });
  });

  return router;
}
