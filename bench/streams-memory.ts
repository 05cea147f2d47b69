/**
 * `npm run bench:streams`: the server's memory with 200 idle event-stream readers, and with 10
 * readers that read nothing while 60 KB events are published (their streams end at the buffer
 * bound, PATCHBAY_STREAM_BUFFER_BYTES, default 4 MiB, instead of growing without limit).
 *
 * Runs the built server as its own process and reads its memory from its own /metrics
 * (process_resident_memory_bytes, nodejs_heap_size_used_bytes).
 */
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { keyFrom, startBenchServer } from './support.js';

// BENCH_STREAM_BUFFER_BYTES=268435456 shows, for comparison, a bound too large to reach here.
const server = await startBenchServer(process.env.BENCH_STREAM_BUFFER_BYTES ? { PATCHBAY_STREAM_BUFFER_BYTES: process.env.BENCH_STREAM_BUFFER_BYTES } : {});
const key = keyFrom(server.cli(['keys', 'create', '--name', 'bench', '--scope', 'events:publish', '--scope', 'events:consume', '--scope', 'metrics:read']));

async function memory(): Promise<{ rss: number; heap: number; ended: number }> {
  const text = await (await fetch(`${server.origin}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: value('process_resident_memory_bytes'), heap: value('nodejs_heap_size_used_bytes'), ended: value('patchbay_event_streams_slow_ended_total') };
}
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

function openStream(read: boolean): Promise<{ request: ClientRequest; response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server.origin}/v1/events/stream?topics=bench/*`, { agent: false, headers: { authorization: `Bearer ${key}` } });
    request.on('response', (response) => {
      if (read) response.resume();
      else response.pause();
      resolve({ request, response });
    });
    request.on('error', reject);
    request.end();
  });
}

const publish = (payload: unknown) =>
  fetch(`${server.origin}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ topic: 'bench/memory', payload }),
  });

try {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const baseline = await memory();
  const idle = [];
  for (let i = 0; i < 200; i++) idle.push(await openStream(true));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const withIdle = await memory();
  for (const stream of idle) stream.request.destroy();
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const slow = [];
  for (let i = 0; i < 10; i++) slow.push(await openStream(false));
  const big = 'x'.repeat(60_000);
  let peak = 0;
  for (let n = 0; n < 600; n++) {
    await publish({ n, big });
    if (n % 50 === 0) peak = Math.max(peak, (await memory()).rss);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const withSlow = await memory();
  for (const stream of slow) stream.request.destroy();
  console.log(`baseline: rss ${mb(baseline.rss)}, heap ${mb(baseline.heap)}`);
  console.log(`200 idle readers: rss ${mb(withIdle.rss)} (+${mb(withIdle.rss - baseline.rss)}), heap ${mb(withIdle.heap)}`);
  console.log(
    `10 readers reading nothing, 600 events of 60 KB (36 MB each would have buffered): peak rss ${mb(Math.max(peak, withSlow.rss))}, ` +
      `after: rss ${mb(withSlow.rss)}, heap ${mb(withSlow.heap)}; streams ended as slow: ${withSlow.ended}`,
  );
} finally {
  await server.stop();
}
