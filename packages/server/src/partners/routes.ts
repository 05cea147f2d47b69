import { actorOf } from '../audit/actor.js';
import cors from 'cors';
import { type Request, Router } from 'express';
import { jsonBody } from '../http/body.js';
import type { AppContext } from '../context.js';
import { authenticate, bearerOf } from '../http/auth.js';
import { forbidden, notFound, unauthorized } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import {
  createPartnerSchema,
  environmentSchema,
  grantSchema,
  listPartnersSchema,
  partnerDetailsSchema,
  redeemSchema,
  rotateKeySchema,
  subscriptionsSchema,
  updatePartnerSchema,
} from './schema.js';
import { grantTopic, revokeGrant } from './grants.js';
import { issuePartnerKey } from './keys.js';
import { issueLink, redeemLink, revokeLinks } from './links.js';
import { partnerOfPortalSession, portalState, setSubscriptions, updatePartnerDetails } from './portal.js';
import { createPartner, getPartner, listPartners, setPartnerStatus, updatePartner } from './service.js';
import type { z } from 'zod';
import type { createPartnerAnswerSchema, PortalAnswer, PortalKeyAnswer } from '@patchbay/contract';
import type { issuedLinkSchema, revokedLinksSchema } from './schema.js';

/** `POST /api/v1/external/partner` (EnSync's shape): an integration key makes a partner and its link. */
export function externalPartnerRoutes(ctx: AppContext): Router {
  const router = Router();
  router.post(
    '/api/v1/external/partner',
    jsonBody({ limit: '16kb' }),
    authenticate(ctx, { scope: 'partners:write' }),
    async function createPartnerHandler(req, res) {
      const input = parseInput(createPartnerSchema, req.body ?? {});
      res.status(201).json({ data: await createPartner(ctx, input, actorOf(res)) } satisfies z.output<typeof createPartnerAnswerSchema>);
    },
  );
  return router;
}

/** Operator routes: list, inspect, edit, suspend and reinstate partners, issue and revoke links, grant topics. */
export function partnerRoutes(ctx: AppContext): Router {
  const router = Router();
  const operator = authenticate(ctx, { scope: 'partners:write' });
  router.use(jsonBody({ limit: '16kb' }));

  router.get('/', operator, async function listPartnersHandler(req, res) {
    res.json(await listPartners(ctx, parseInput(listPartnersSchema, req.query)));
  });
  router.get('/:partnerId', operator, async function readPartnerHandler(req, res) {
    res.json(await getPartner(ctx, String(req.params.partnerId)));
  });
  router.patch('/:partnerId', operator, async function updatePartnerHandler(req, res) {
    res.json(await updatePartner(ctx, String(req.params.partnerId), parseInput(updatePartnerSchema, req.body ?? {}), actorOf(res)));
  });
  router.post('/:partnerId/links', operator, async function issueLinkHandler(req, res) {
    res.status(201).json({ data: await issueLink(ctx, String(req.params.partnerId), actorOf(res)) } satisfies z.output<typeof issuedLinkSchema>);
  });
  router.post('/:partnerId/links/revoke', operator, async function revokeLinksHandler(req, res) {
    res.json({ data: await revokeLinks(ctx, String(req.params.partnerId), actorOf(res)) } satisfies z.output<typeof revokedLinksSchema>);
  });
  router.post('/:partnerId/suspend', operator, async function suspendPartnerHandler(req, res) {
    res.json(await setPartnerStatus(ctx, String(req.params.partnerId), 'suspended', actorOf(res)));
  });
  router.post('/:partnerId/reinstate', operator, async function reinstatePartnerHandler(req, res) {
    res.json(await setPartnerStatus(ctx, String(req.params.partnerId), 'active', actorOf(res)));
  });
  router.post('/:partnerId/grants', operator, async function grantTopicHandler(req, res) {
    res.status(201).json(await grantTopic(ctx, String(req.params.partnerId), parseInput(grantSchema, req.body ?? {}), actorOf(res)));
  });
  router.delete('/:partnerId/grants/:grantId', operator, async function revokeGrantHandler(req, res) {
    await revokeGrant(ctx, String(req.params.partnerId), String(req.params.grantId), actorOf(res));
    res.status(204).end();
  });
  return router;
}

const PORTAL_COOKIE = 'patchbay_portal';
const PORTAL_PATH = '/v1/partner-portal';

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/**
 * The partner's own routes. On the server's own site the portal session is a cookie: httpOnly (no
 * script reads it), SameSite=Strict and path-scoped, Secure on https. A host site listed in
 * `partnerEmbedOrigins` cannot get that cookie sent, so a redemption from there answers with the
 * session token instead, which the component holds in memory and sends as a bearer token.
 *
 * Writes need the `X-Patchbay-Portal` header, which a cross-site form cannot send. A request with
 * an `Origin` other than the server's must come from an embed origin and carry the token: the
 * cookie only ever works from the server's own origin.
 */
export function partnerPortalRoutes(ctx: AppContext): Router {
  const router = Router();
  const secure = ctx.config.publicUrl.startsWith('https:');
  const serverOrigin = new URL(ctx.config.publicUrl).origin;
  const embedOrigins = new Set(ctx.config.partnerEmbedOrigins);
  router.use(
    cors({
      origin: (origin, callback) => callback(null, origin !== undefined && embedOrigins.has(origin)),
      methods: ['GET', 'POST', 'PATCH', 'PUT'],
      allowedHeaders: ['authorization', 'content-type', 'x-patchbay-portal'],
      maxAge: 600,
    }),
  );
  router.use(jsonBody({ limit: '16kb' }));
  router.use(function portalOriginCheck(req, _res, next) {
    const origin = req.get('origin');
    const fromEmbed = origin !== undefined && origin !== serverOrigin;
    const writes = req.method !== 'GET' && req.method !== 'HEAD';
    if (writes && req.get('x-patchbay-portal') !== '1') throw csrfFailed();
    if (fromEmbed && (!embedOrigins.has(origin) || (req.path !== '/redeem' && bearerOf(req) === null))) throw csrfFailed();
    next();
  });
  const csrfFailed = () => forbidden('csrf_check_failed', 'This request did not come from the partner portal.');

  const sessionExpired = () => unauthorized('portal_session_expired', 'Your portal session has ended. Ask the workspace for a new link.');
  /** The signed-in partner and the state the portal shows it, or 401 portal_session_expired. */
  async function sessionOf(req: Request) {
    // A bearer token (the token an embedding host's component holds), when sent, is the only
    // credential looked at: a stale one is not rescued by a cookie.
    const bearer = bearerOf(req);
    const session = await partnerOfPortalSession(ctx, bearer ?? cookieOf(req, PORTAL_COOKIE));
    if (!session) throw sessionExpired();
    return { partnerId: session.partner.id, state: () => stateOf(session.partner.id, session.sessionExpiresAt) };
  }
  async function stateOf(partnerId: string, sessionExpiresAt: string) {
    const row = await ctx.store.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirstOrThrow();
    return portalState(ctx, row, sessionExpiresAt);
  }

  router.post('/redeem', async function redeemLinkHandler(req, res) {
    const { code } = parseInput(redeemSchema, req.body ?? {});
    const redeemed = await redeemLink(ctx, code);
    // One answer for unknown, expired, used and revoked links.
    if (!redeemed) throw notFound('link_invalid', 'This link cannot be used. Ask the workspace for a new one.');
    res.set('cache-control', 'no-store');
    const state = await stateOf(redeemed.partnerId, redeemed.expiresAt);
    const origin = req.get('origin');
    if (origin !== undefined && embedOrigins.has(origin)) {
      res.json({ data: state, session: { token: redeemed.sessionToken, expiresAt: redeemed.expiresAt } } satisfies PortalAnswer);
      return;
    }
    res.cookie(PORTAL_COOKIE, redeemed.sessionToken, { httpOnly: true, sameSite: 'strict', secure, path: PORTAL_PATH, expires: new Date(redeemed.expiresAt) });
    res.json({ data: state } satisfies PortalAnswer);
  });
  router.get('/', async function portalStateHandler(req, res) {
    const session = await sessionOf(req);
    res.set('cache-control', 'no-store').json({ data: await session.state() } satisfies PortalAnswer);
  });

  router.patch('/partner', async function updateDetailsHandler(req, res) {
    const session = await sessionOf(req);
    await updatePartnerDetails(ctx, session.partnerId, parseInput(partnerDetailsSchema, req.body ?? {}));
    res.json({ data: await session.state() } satisfies PortalAnswer);
  });

  router.post('/keys/:environment', async function createKeyHandler(req, res) {
    const session = await sessionOf(req);
    const key = await issuePartnerKey(ctx, session.partnerId, parseInput(environmentSchema, req.params.environment), null);
    res.set('cache-control', 'no-store');
    res.status(201).json({ data: { key, state: await session.state() } } satisfies PortalKeyAnswer);
  });

  router.post('/keys/:environment/rotate', async function rotateKeyHandler(req, res) {
    const session = await sessionOf(req);
    const { graceSeconds } = parseInput(rotateKeySchema, req.body ?? {});
    const key = await issuePartnerKey(ctx, session.partnerId, parseInput(environmentSchema, req.params.environment), { graceSeconds });
    res.set('cache-control', 'no-store');
    res.status(201).json({ data: { key, state: await session.state() } } satisfies PortalKeyAnswer);
  });

  router.put('/subscriptions', async function subscriptionsHandler(req, res) {
    const session = await sessionOf(req);
    await setSubscriptions(ctx, session.partnerId, parseInput(subscriptionsSchema, req.body ?? {}));
    res.json({ data: await session.state() } satisfies PortalAnswer);
  });

  return router;
}
