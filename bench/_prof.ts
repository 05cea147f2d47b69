import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startChild } from './pairs.js';
const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-bench-'));
const pb = await startChild<{ port: number; key: string; partnerKey: string }>('./patchbay-server.ts', {
  PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'), PATCHBAY_DATA_DIR: dataDir, PATCHBAY_LOG_LEVEL: 'info',
});
const o = `http://127.0.0.1:${pb.info.port}`;
const r = await autocannon({ url: `${o}/v1/events`, method: 'POST', headers: { authorization: `Bearer ${pb.info.partnerKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'bench/created', payload: { order: 'ord_1234', amount: 4200 } }), connections: 32, duration: 10 });
console.log(r.requests.average, r.latency.p50, r.non2xx, r.errors);
await pb.stop();
