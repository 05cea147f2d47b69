import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, Response } from 'express';

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
