/**
 * `npm run bench:metrics`: how long one `/metrics` scrape takes to render with 10 000 series.
 *
 * Fills a server's own metrics registry (the one `/metrics` serves) with about BENCH_SERIES request
 * series (route × method × status counters and route × method latency histograms, as a large
 * deployment would hold), besides the process metrics, then renders the exposition text repeatedly and prints
 * the p50 and p99 time and the size of the text. The render is what a scrape costs the server;
 * the HTTP round trip on loopback adds well under a millisecond.
 */
import { performance } from 'node:perf_hooks';
import { Metrics } from '../packages/server/src/metrics/metrics.js';

const SERIES = Number(process.env.BENCH_SERIES ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);

const metrics = new Metrics();
const statuses = ['200', '201', '204', '400', '401', '403', '404', '409', '429', '500'];
const methods = ['GET', 'POST', 'PATCH', 'DELETE'];
// Per route: one counter series per method and status, and per method a histogram (11 buckets, +Inf, sum, count).
const routesNeeded = Math.ceil(SERIES / (methods.length * (statuses.length + 14)));
for (let route = 0; route < routesNeeded; route++) {
  for (const method of methods) {
    metrics.httpDuration.observe({ route: `/v1/resource-${route}/:id`, method }, Math.random());
    for (const status of statuses) metrics.httpRequests.inc({ route: `/v1/resource-${route}/:id`, method, status }, 1 + Math.floor(Math.random() * 1000));
  }
}

const first = await metrics.registry.metrics();
const lines = first.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
const times: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const started = performance.now();
  await metrics.registry.metrics();
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
console.log(`/metrics render: ${lines} series (${(first.length / 1024).toFixed(0)} KB of text): p50 ${at(0.5)} ms, p99 ${at(0.99)} ms over ${RUNS} scrapes`);
