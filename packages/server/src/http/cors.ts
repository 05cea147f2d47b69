import cors from 'cors';
import type { RequestHandler } from 'express';
import type { AppContext } from '../context.js';

/**
 * The widget calls session and install routes from the host's page. Only origins that some
 * integration allows get CORS answers; no cookies are involved (session tokens are bearer).
 */
export function widgetCors(ctx: AppContext): RequestHandler {
  const allowed = new Set<string>();
  for (const integration of ctx.catalog.integrations.values()) for (const origin of integration.allowedOrigins) allowed.add(origin);
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  });
}
