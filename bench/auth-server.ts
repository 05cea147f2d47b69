/**
 * The server process for bench:auth: the real Patchbay app plus two identical routes, one open and
 * one behind the same `authenticate` middleware every keyed route uses, so the difference between
 * them is exactly the cost of key authentication (lookup, checks, auth event, last-used).
 */
import express from 'express';
import { performance } from 'node:perf_hooks';
import { sizeHeapForServer } from '../packages/server/dist/cli/heap.js';
import { loadConfig, createPatchbay, createLogger } from '../packages/server/dist/index.js';
import { authenticate } from '../packages/server/dist/http/auth.js';
import { createAccessKey } from '../packages/server/dist/keys/service.js';

/** What the bench reads between phases: requests served per route so far, this process's CPU time, and when. */
export interface ServedSample {
  open: number;
  keyed: number;
  cpuMicros: number;
  atMs: number;
}

// V8's heap as `patchbay start` sizes it: the bench measures the server as it runs.
sizeHeapForServer(process.execArgv, process.env.NODE_OPTIONS);

const config = loadConfig([], process.env);
const patchbay = await createPatchbay(config, { logger: createLogger('warn') });
const { key } = await createAccessKey(patchbay.ctx, { name: 'bench', scopes: ['installs:read'] });

// Counted in the same way on both routes (one increment), so the count costs neither more.
const served = { open: 0, keyed: 0 };
const app = express();
app.get('/bench/open', (_req, res) => {
  served.open++;
  res.json({ ok: true });
});
// BENCH_KEYED_MIDDLEWARE=noop puts a middleware that only calls next() where authentication goes:
// the ratio then shows what one more middleware costs in Express, the ceiling for any middleware.
const keyedMiddleware: express.RequestHandler =
  process.env.BENCH_KEYED_MIDDLEWARE === 'noop' ? (_req, _res, next) => next() : authenticate(patchbay.ctx, { scope: 'installs:read' });
app.get('/bench/keyed', keyedMiddleware, (_req, res) => {
  served.keyed++;
  res.json({ ok: true });
});
app.use(patchbay.app);
// The server's own CPU time, read between phases over IPC (not HTTP, so reading it is no request
// of either route): a per-request cost that other load on the machine distorts less than req/s.
process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send?.({ ...served, cpuMicros: user + system, atMs: performance.now() } satisfies ServedSample);
});
const server = app.listen(config.port, '127.0.0.1', () => process.send?.({ key }));
process.on('SIGTERM', () => server.close(() => void patchbay.close().then(() => process.exit(0))));
