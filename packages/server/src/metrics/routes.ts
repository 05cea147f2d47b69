import { createServer as createHttpServer, type Server } from 'node:http';
import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { authenticate } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from './metrics.js';

async function sendMetrics(metrics: Metrics, res: Response): Promise<void> {
  const text = await metrics.registry.metrics();
  res.set({ 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).send(text);
}

/** `GET /metrics` on the public port: only for a key with `metrics:read` (or admin), every attempt an auth event. */
export function metricsRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/metrics', authenticate(ctx, { scope: 'metrics:read' }), async function metricsHandler(_req: Request, res: Response) {
    await sendMetrics(ctx.metrics, res);
  });
  return router;
}

/**
 * A listener that serves only `GET /metrics`, without a key: for an address Prometheus reaches
 * and the public does not (`PATCHBAY_METRICS_LISTEN=127.0.0.1:9464`). Off unless set.
 */
export async function startMetricsListener(metrics: Metrics, address: { host: string; port: number }, logger: Logger): Promise<Server> {
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      const error = new HttpError(404, 'route_not_found', 'This listener serves GET /metrics only.');
      res
        .writeHead(error.status, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify({ error: { code: error.code, message: error.message } }));
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        logger.error({ err: error }, 'could not collect metrics');
        res
          .writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
          .end('{"error":{"code":"internal_error","message":"The metrics could not be collected."}}');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
