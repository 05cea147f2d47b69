import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { isNoStorePath } from './cache.js';

/** Logs only the path: OAuth codes and states travel in query strings and must never be logged. */
function pathOnly(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Sees one request through: `watch` it as it comes in (Express's first middleware, or a fast lane). */
export interface RequestObserver {
  /** For a request Express routes: its template is read from `req.route` once answered. */
  middleware: RequestHandler;
  /** For a request answered outside Express's router, whose route template the caller knows. */
  watch(req: IncomingMessage, res: ServerResponse, routeTemplate: string): void;
}

/**
 * What every request gets first, and what sees it end: `Cache-Control: no-store` under the API
 * prefixes (http/cache.ts), then, once the answer is done, one access log line and the request's
 * metrics. One function and one `close` listener per request rather than three middleware and two
 * listeners: every request, the proxy's included, pays for this.
 *
 * The access line carries what pino-http wrote (an id, method, path without the query, status,
 * duration) at a fraction of its cost (it built a child logger per request and ran every line
 * through redaction). None of those fields is a secret, so the line skips the redaction pass that
 * every other line still gets.
 */
export function requestObserver({ logger, metrics }: Pick<AppContext, 'logger' | 'metrics'>): RequestObserver {
  const lines = logger.child({}, { redact: { paths: [] } });
  let counter = 0;
  const watch = (req: IncomingMessage & { originalUrl?: string; route?: object }, res: ServerResponse, routeTemplate?: string) => {
    const started = performance.now();
    const id = ++counter;
    if (isNoStorePath(req.url!)) res.setHeader('cache-control', 'no-store');
    res.once('close', () => {
      const durationMs = performance.now() - started;
      const url = req.originalUrl ?? req.url!;
      metrics.observeRequest(routeTemplate ?? metrics.routeOf(req.route, url), req.method!, res.statusCode, durationMs / 1000);
      const failed = res.statusCode >= 500;
      if (!failed && !lines.isLevelEnabled('info')) return;
      const line = {
        req: { id, method: req.method, path: pathOnly(url) },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(durationMs),
      };
      if (failed) lines.error(line, 'request errored');
      else lines.info(line, res.writableFinished ? 'request completed' : 'request aborted');
    });
  };
  return {
    middleware: function observeRequest(req, res, next) {
      watch(req, res);
      next();
    },
    watch,
  };
}
