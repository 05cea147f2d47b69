import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * A hot route answered before Express sees the request. It returns false for any request that is
 * not its own, and Express then handles that request as usual. `fail` answers an error the way the
 * app's error handler does.
 */
export type FastLane = (req: IncomingMessage, res: ServerResponse, fail: (error: unknown) => void) => boolean;

/** What Express's app keeps and our types do not declare: its per-request entry and prototypes. */
interface ExpressInternals {
  handle(req: IncomingMessage, res: ServerResponse, done?: NextFunction): void;
  request: object;
  response: object;
}

/**
 * Puts fast lanes in front of Express's handling of every request.
 *
 * Why: Express first gives each request and response its own prototypes. After that swap, Node's
 * http code runs slower on those objects. On the bench machine this costs ~80 µs of CPU per request
 * before any route runs, which is almost the whole cost of the bare node:http proxy we measure the
 * proxy against. A lane answers the plain, common form of one hot route with Node's own objects.
 * Any other form of that route, and every other request, takes the usual path.
 *
 * An error in a lane goes to the app's own error handler. The request becomes Express's at that
 * moment, as `app.handle` would have made it, so error answers match the usual path.
 *
 * Hooked at `app.handle`, the one method through which Express runs every request of the app,
 * whether it is served by `http.createServer(app)` or mounted in a host's own Express app.
 */
export function withFastLanes(app: Express, lanes: readonly FastLane[], errorHandler: ErrorRequestHandler): void {
  const internals = app as unknown as ExpressInternals;
  const expressHandle = internals.handle.bind(app);
  internals.handle = function handleWithFastLanes(req, res, done) {
    const fail = (error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      Object.setPrototypeOf(req, internals.request);
      Object.setPrototypeOf(res, internals.response);
      Object.assign(req, { res });
      Object.assign(res, { req });
      errorHandler(error, req as Request, res as Response, () => res.destroy());
    };
    // A request an Express app already handles (a host's app that mounts ours) keeps Express's objects.
    if (!('originalUrl' in req)) for (const lane of lanes) if (lane(req, res, fail)) return;
    expressHandle(req, res, done);
  };
}

/**
 * Node's request as the route's Express middleware read it: the URL as received (`originalUrl`),
 * its path (`baseUrl` + `path`: auth events record both), the route's decoded parameters, and the
 * answer's `locals`. Nothing else of Express's request or response may be used by a middleware a
 * lane runs; `res.set`, `req.get` and the like exist on the usual path only.
 *
 * `baseUrl`: where the route's router is mounted, for a route at that router's root (`/`), whose
 * `path` Express gives as `/`.
 */
export function laneRequest(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, baseUrl = ''): Request {
  const url = req.url!;
  const query = url.indexOf('?');
  const pathname = query === -1 ? url : url.slice(0, query);
  Object.assign(req, { originalUrl: url, baseUrl, path: pathname.slice(baseUrl.length) || '/', params });
  Object.assign(res, { locals: Object.create(null) as Record<string, unknown> });
  return req as Request;
}

/**
 * Runs a route's handlers one after another, as Express's router would: each one's `next()` calls
 * the next, and an error passed to `next`, thrown, or rejected from a returned promise goes to
 * `fail` (no handler after it runs).
 */
export function runHandlers(handlers: readonly RequestHandler[], req: Request, res: ServerResponse, fail: (error: unknown) => void): void {
  const answer = res as Response;
  const step = (index: number) => (error?: unknown) => {
    if (error !== undefined && error !== null) return fail(error);
    const handler = handlers[index];
    if (!handler) return;
    try {
      const returned = handler(req, answer, step(index + 1)) as unknown;
      if (returned instanceof Promise) returned.catch(fail);
    } catch (thrown) {
      fail(thrown);
    }
  };
  step(0)();
}

/** A path or one of its segments decoded as Express's router decodes route parameters, or null where the router would refuse it (400). */
export function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
