/**
 * `patchbay start` sizes V8's heap for a server with few live objects (src/cli/heap.ts): the young
 * generation stays near its starting size under load (4 MiB on Node 20, 8 on Node 24, as measured
 * here), where Node's default grows it to 32 MiB (64 on Node 24). An operator who sizes the heap on
 * node's command line or in NODE_OPTIONS keeps that sizing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sizeHeapForServer } from '../src/cli/heap.js';
import { freePort, sharedDatabase, startServerProcess } from './support/processes.js';

/** The young generation’s size after 1 280 requests, 32 at a time, from the server's own metrics. */
async function youngGenerationAfterLoad(nodeOptions: string): Promise<number> {
  const database = sharedDatabase('sqlite');
  const metricsPort = await freePort();
  const server = await startServerProcess({ env: { ...database.env, PATCHBAY_METRICS_LISTEN: `127.0.0.1:${metricsPort}`, NODE_OPTIONS: nodeOptions } });
  try {
    // Unauthenticated calls: each is refused, recorded and counted, allocating as a busy server does.
    for (let round = 0; round < 40; round++) {
      await Promise.all(Array.from({ length: 32 }, () => fetch(`${server.origin}/v1/keys`).then((answer) => answer.arrayBuffer())));
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const size = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(metrics)?.[1];
    assert.ok(size, 'the metrics report the young generation');
    return Number(size) / 2 ** 20;
  } finally {
    await server.stop();
    await database.drop();
  }
}

describe('the heap of patchbay start', () => {
  it('keeps the young generation near its starting size under load (≤ 12 MiB)', async () => {
    const mib = await youngGenerationAfterLoad('');
    assert.ok(mib <= 12, `young generation ${mib} MiB`);
  });

  it("leaves an operator's own sizing alone: NODE_OPTIONS=--max-semi-space-size=16 lets it grow to 32 MiB (the check above can fail)", async () => {
    const mib = await youngGenerationAfterLoad('--max-semi-space-size=16');
    assert.ok(mib >= 16, `young generation ${mib} MiB`);
  });

  it('changes nothing when the heap is sized on the command line or in NODE_OPTIONS, whatever the flag', () => {
    assert.equal(sizeHeapForServer(['--max-old-space-size=512'], undefined), false);
    assert.equal(sizeHeapForServer([], '--enable-source-maps --max-semi-space-size=8'), false);
    assert.equal(sizeHeapForServer(['--max_semi_space_size=8'], undefined), false);
  });
});
