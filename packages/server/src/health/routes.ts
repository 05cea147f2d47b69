import type { ServerResponse } from 'node:http';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import type { FastLane } from '../http/fast-lane.js';
import type { RequestObserver } from '../http/request-observer.js';
import type { HealthAnswer } from './schema.js';

/** Liveness and readiness, for load balancers and orchestrators; no credential. */
export function healthRoutes(deps: Pick<AppContext, 'store'>): Router {
  const router = Router();
  router.get('/healthz', function healthHandler(_req, res) {
    answerAlive(res);
  });
  // Ready means the store answers and holds every migration this code needs; a load balancer
  // takes the instance out of rotation otherwise. Bounded, so an unreachable database answers too.
  router.get('/readyz', async function readyHandler(_req, res) {
    let pending: string[];
    try {
      pending = await withDeadline(deps.store.pendingMigrations(), 2000);
    } catch (error) {
      throw new HttpError(503, 'store_unavailable', 'The database cannot be reached.', { expose: true, cause: error });
    }
    if (pending.length > 0)
      throw new HttpError(503, 'migrations_pending', `The database lacks ${pending.length} migration(s); run patchbay migrate.`, { expose: true });
    res.set('cache-control', 'no-store').json({ ok: true } satisfies HealthAnswer);
  });
  return router;
}

const ALIVE = JSON.stringify({ ok: true } satisfies HealthAnswer);

/** The liveness answer, the same from the router and from the fast lane; nothing in it to revalidate, so no ETag. */
function answerAlive(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', ALIVE.length);
  res.end(ALIVE);
}

/**
 * `/healthz` before Express (http/fast-lane.ts says why): probes call it every few seconds on every
 * instance. Its plain form only; `/healthz/` or `/HEALTHZ` reach the route above, which answers the same.
 */
export function healthLane(observer: RequestObserver): FastLane {
  return function healthLane(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (req.url !== '/healthz' && !req.url!.startsWith('/healthz?')) return false;
    observer.watch(req, res, '/healthz');
    answerAlive(res);
    return true;
  };
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
