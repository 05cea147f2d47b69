/**
 * `npm run bench:auth-inprocess`: the CPU time key authentication costs per request, measured in
 * one process with no HTTP and no load generator, so that a busy shared machine moves it little
 * (bench:auth's keyed − open figure spans ±30 µs between quartiles there, more than a change is worth).
 *
 * The real `authenticate` middleware of a real app (SQLite file) runs on requests that carry a valid
 * access key, on plain request and answer objects; the route answers in the same tick, as the bench
 * route does. The auth event buffer is flushed every BENCH_BATCH requests (default 150: what the
 * recorder's 50 ms timer gathers at bench:auth's rate), so the row writes are counted too. Printed:
 * the median of BENCH_ROUNDS (7) rounds of BENCH_REQUESTS (100 000) requests, with the extremes.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { createLogger, createPatchbay, loadConfig } from '../packages/server/src/index.js';
import { authenticate } from '../packages/server/src/http/auth.js';
import { createAccessKey } from '../packages/server/src/keys/service.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 150);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);

/** An answer as far as `authenticate` reads it: locals, a header, `close`, and whether it has ended. */
class Answer extends EventEmitter {
  locals: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  writableEnded = false;
  setHeader(): void {}
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-'));
const config = loadConfig([], { PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'), PATCHBAY_DATA_DIR: dataDir });
const patchbay = await createPatchbay(config, { logger: createLogger('warn') });
try {
  const { key } = await createAccessKey(patchbay.ctx, { name: 'bench', scopes: ['installs:read'] });
  const middleware = authenticate(patchbay.ctx, { scope: 'installs:read' });
  const headers = { authorization: `Bearer ${key}` };
  const socket = { remoteAddress: '127.0.0.1' };
  const recorder = patchbay.ctx.authEvents;

  /** CPU µs per request over `count` requests, their auth event rows written. */
  async function round(count: number): Promise<number> {
    const started = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const req = { headers, socket, method: 'GET', baseUrl: '', path: '/bench/keyed', params: {} } as unknown as Request;
      const res = new Answer();
      const next = (() => (res.writableEnded = true)) as NextFunction;
      const pending = middleware(req, res as unknown as Response, next) as unknown;
      if (pending instanceof Promise) await pending;
      res.emit('close');
      if (i % BATCH === BATCH - 1) await recorder.flush();
    }
    await recorder.flush();
    const { user, system } = process.cpuUsage(started);
    return (user + system) / count;
  }

  await round(REQUESTS / 2); // warm-up: JIT, the key cache, prepared statements
  const figures: number[] = [];
  for (let i = 0; i < ROUNDS; i++) figures.push(await round(REQUESTS));
  figures.sort((a, b) => a - b);
  const f = (value: number) => value.toFixed(2);
  console.log(
    `authenticate + its auth event row, CPU: ${f(figures[figures.length >> 1]!)} µs/request (${ROUNDS} rounds: ${f(figures[0]!)}–${f(figures.at(-1)!)})`,
  );
} finally {
  await patchbay.close();
  rmSync(dataDir, { recursive: true, force: true });
}
