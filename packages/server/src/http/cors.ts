import cors from 'cors';
import type { RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { refuseBeforeAuthentication } from './auth.js';

/**
 * The integration API's cross-origin rule, mounted once on `/v1/integrations/:integrationId` so
 * every route under it (today's and tomorrow's) follows it.
 *
 * Its calls carry a bearer credential (a session token from the widget, an access key from a
 * backend) and never a cookie, so answering any page's CORS request gives that page no authority
 * it did not already hold: the page still needs a token. Each integration's `allowedOrigins` is
 * then enforced here, per integration, where the refusal can be read: a `403 origin_not_allowed`
 * that names the page's origin and the setting to change, instead of a failed preflight that a
 * page cannot tell from a network failure. An origin one integration allows reaches no other.
 *
 * Not checked: requests without an `Origin` (a backend), from the server's own origin (its pages;
 * CORS never applied to them) and without a bearer credential (the hosted pages' navigations and
 * form posts, whose `Origin` is `null` under their no-referrer policy; anything else there is
 * refused by authentication).
 */
export function integrationOrigins(ctx: Pick<AppContext, 'config' | 'catalog' | 'authEvents'>): RequestHandler[] {
  const serverOrigin = new URL(ctx.config.publicUrl).origin;
  const answerAnyOrigin = cors({
    origin: true,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  });
  const enforceAllowedOrigins: RequestHandler = function enforceAllowedOrigins(req, _res, next) {
    // Read from the headers themselves (not `req.get`): the tenant actions' fast lane runs this on Node's request.
    const origin = req.headers.origin?.slice(0, 256);
    if (origin === undefined || origin === serverOrigin || req.headers.authorization === undefined) return next();
    const integrationId = String(req.params.integrationId);
    const integration = ctx.catalog.integrations.get(integrationId);
    // An unknown integration is the route's to answer (404), whatever the origin.
    if (!integration || integration.allowedOrigins.includes(origin)) return next();
    throw refuseBeforeAuthentication(
      ctx,
      req,
      'origin_not_allowed',
      `This page's origin ${origin} is not allowed to use integration "${integrationId}". ` +
        (integration.source === 'file'
          ? `Add ${origin} to that integration's allowedOrigins in the Patchbay server's config file.`
          : `Add ${origin} to that integration's allowedOrigins (PATCH /v1/integrations/${integrationId}).`),
    );
  };
  return [answerAnyOrigin, enforceAllowedOrigins];
}
