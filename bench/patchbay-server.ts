/**
 * The Patchbay process for bench:proxy and bench:events: the real app (tsc's build in dist/, as the
 * library runs; the bench scripts build first) on its own listener, serving
 * bench/bench-app.ts's connector (base URL BENCH_UPSTREAM, when given) and records, with the heap
 * sized as `patchbay start` sizes it (src/cli/heap.ts). It tells the
 * parent its port and the bench's credentials, then serves until SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sizeHeapForServer } from '../packages/server/dist/cli/heap.js';
import { loadConfig, createPatchbay } from '../packages/server/dist/index.js';
import { benchDeclarations, seedBench } from './bench-app.js';

// V8's heap as `patchbay start` sizes it (unless BENCH_PATCHBAY_NODE_OPTIONS sizes it).
sizeHeapForServer(process.execArgv, process.env.NODE_OPTIONS);

const config = loadConfig([], process.env);
const patchbay = await createPatchbay(config, { declarations: benchDeclarations(process.env.BENCH_UPSTREAM ?? 'http://127.0.0.1:9') });
const credentials = await seedBench(patchbay.ctx);

const server = createServer(patchbay.app);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port, ...credentials }));
// The parent asks for memory figures between phases.
process.on('message', (message) => {
  if (message === 'memory') process.send?.({ memory: process.memoryUsage() });
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void patchbay.close().then(() => process.exit(0)));
});
