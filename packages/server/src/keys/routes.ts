import { actorOf } from '../audit/actor.js';
import { Router } from 'express';
import { jsonBody } from '../http/body.js';
import type { AppContext } from '../context.js';
import { authenticate, principalOf, refuse } from '../http/auth.js';
import { forbidden } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import { listAuthEvents } from './auth-events.js';
import { grants } from './scopes.js';
import { createKeySchema, issueTokenSchema, listAuthEventsSchema, listKeysSchema, rollKeySchema, updateKeySchema } from './schema.js';
import { createAccessKey, getAccessKey, listAccessKeys, rollAccessKey, setAccessKeyActive, updateAccessKey } from './service.js';
import type { z } from 'zod';
import type { createdKeySchema, rolledKeySchema, tokenAnswerSchema, whoamiSchema } from './schema.js';

/** Operator routes: key management and auth events (admin scope), and tokens and whoami for any key. */
export function keyRoutes(ctx: AppContext): Router {
  const router = Router();
  const admin = authenticate(ctx, { scope: 'admin' });
  router.use(jsonBody({ limit: '32kb' }));

  router.post('/keys', admin, async function createKeyHandler(req, res) {
    const input = parseInput(createKeySchema, req.body ?? {});
    const { key, record } = await createAccessKey(ctx, { ...input, actor: actorOf(res) });
    res.status(201).json({ ...record, key } satisfies z.output<typeof createdKeySchema>);
  });

  router.get('/keys', admin, async function listKeysHandler(req, res) {
    res.json(await listAccessKeys(ctx, parseInput(listKeysSchema, req.query)));
  });

  router.get('/keys/:keyId', admin, async function readKeyHandler(req, res) {
    res.json(await getAccessKey(ctx, String(req.params.keyId)));
  });

  router.patch('/keys/:keyId', admin, async function updateKeyHandler(req, res) {
    const changes = parseInput(updateKeySchema, req.body ?? {});
    const record = await updateAccessKey(ctx, String(req.params.keyId), changes, actorOf(res));
    ctx.keys.forget(record.id);
    res.json(record);
  });

  router.post('/keys/:keyId/inactivate', admin, async function inactivateKeyHandler(req, res) {
    const record = await setAccessKeyActive(ctx, String(req.params.keyId), false, actorOf(res));
    ctx.keys.forget(record.id);
    res.json(record);
  });

  router.post('/keys/:keyId/reactivate', admin, async function reactivateKeyHandler(req, res) {
    const record = await setAccessKeyActive(ctx, String(req.params.keyId), true, actorOf(res));
    ctx.keys.forget(record.id);
    res.json(record);
  });

  router.post('/keys/:keyId/roll', admin, async function rollKeyHandler(req, res) {
    const { gracePeriodSeconds } = parseInput(rollKeySchema, req.body ?? {});
    const { key, record, previous } = await rollAccessKey(ctx, String(req.params.keyId), gracePeriodSeconds, actorOf(res));
    ctx.keys.forget(previous.id);
    res.status(201).json({ ...record, key, previous } satisfies z.output<typeof rolledKeySchema>);
  });

  router.get('/auth-events', admin, async function listAuthEventsHandler(req, res) {
    await ctx.authEvents.flush();
    res.json(await listAuthEvents(ctx.store, parseInput(listAuthEventsSchema, req.query)));
  });

  /** Exchanges the presented key for a short-lived JWT with the same or fewer scopes. */
  router.post('/tokens', authenticate(ctx), async function issueTokenHandler(req, res) {
    const principal = principalOf(res);
    if (principal.kind !== 'key' || principal.via !== 'key')
      throw refuse(ctx, req, res, 'insufficient_scope', 'Only an access key can be exchanged for a token.');
    const input = parseInput(issueTokenSchema, req.body ?? {});
    const scopes = input.scopes ?? principal.scopes;
    const beyond = scopes.filter((scope) => !grants(principal.scopes, scope));
    if (beyond.length > 0) throw refuse(ctx, req, res, 'insufficient_scope', `The key does not hold: ${beyond.join(', ')}.`);
    const ttlSeconds = input.ttlSeconds ?? ctx.config.accessTokenTtlSeconds;
    const { token, expiresAt } = await ctx.tokenSigner.sign({ keyId: principal.key.id, scopes, tenantId: principal.key.tenantId, ttlSeconds });
    res.status(201).json({ token, tokenType: 'Bearer', expiresAt, scopes } satisfies z.output<typeof tokenAnswerSchema>);
  });

  /** Who the presented credential is: handy for checking a key, and the cheapest authenticated route. */
  router.get('/whoami', authenticate(ctx), function whoamiHandler(_req, res) {
    const principal = principalOf(res);
    if (principal.kind !== 'key') throw forbidden('insufficient_scope', 'Session tokens have no identity here.');
    res.json({
      keyId: principal.key.id,
      name: principal.key.name,
      scopes: principal.scopes,
      tenantId: principal.key.tenantId,
      via: principal.via,
    } satisfies z.output<typeof whoamiSchema>);
  });

  return router;
}
