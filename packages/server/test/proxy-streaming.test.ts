/**
 * The proxy's large answers: a body past what is read before answering (64 KiB) is passed on as it
 * arrives, at the pace of the caller, and an upstream that fails or a caller that leaves ends the
 * other side of the exchange rather than leaving it hanging.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
// Unref'd where raced: a wait that lost the race must not keep the test file's process alive.
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from '../src/connections/service.js';
import type { Declarations } from '../src/index.js';
import { closeServer, listenOnLoopback, startPatchbay, type TestPatchbay } from './support/harness.js';

const MIB = 1024 * 1024;
/** A megabyte that is not one repeated byte, so a chunk lost, doubled or reordered changes its digest. */
const BIG_BODY = Buffer.from(Array.from({ length: MIB }, (_, index) => (index * 31 + (index >> 10)) & 0xff));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('the proxy with answers larger than it buffers', () => {
  let upstream: Awaited<ReturnType<typeof listenOnLoopback>>;
  /** The endless stream's answers, so a test can see when Patchbay let go of one. */
  const endless: ServerResponse[] = [];
  let patchbay: TestPatchbay;
  let accessKey: string;
  let connectionId: string;

  before(async () => {
    upstream = await listenOnLoopback();
    upstream.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.url === '/api/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG_BODY.length });
        // In pieces, as a real server's socket would send them.
        for (let at = 0; at < BIG_BODY.length; at += 100_000) res.write(BIG_BODY.subarray(at, at + 100_000));
        res.end();
      } else if (req.url === '/api/stall-after-100k') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MIB });
        res.write(BIG_BODY.subarray(0, 100_000));
        // …and never the rest.
      } else if (req.url === '/api/reset-after-100k') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MIB });
        res.write(BIG_BODY.subarray(0, 100_000), () => setTimeout(() => req.socket.destroy(), 50));
      } else if (req.url === '/api/endless') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        endless.push(res);
        const timer = setInterval(() => res.write(BIG_BODY.subarray(0, 64 * 1024)), 5);
        res.on('close', () => clearInterval(timer));
      } else {
        res.writeHead(404).end();
      }
    });
    const declarations = {
      connectors: [
        {
          slug: 'files',
          name: 'Files API',
          description: '',
          baseUrl: `${upstream.origin}/api`,
          visibility: 'shared',
          authMethods: [{ type: 'bearer' }],
          actions: {},
        },
      ],
      integrations: [],
    } as unknown as Declarations;
    // A timeout long enough for a megabyte on a slow machine, short enough for the stalled tests.
    patchbay = await startPatchbay({ declarations, config: { upstreamTimeoutMs: 2000 } });
    accessKey = await patchbay.accessKey(['installs:read', 'installs:write']);
    connectionId = await createConnection(patchbay.patchbay.ctx, { connector: 'files', tenantId: 't1', credentials: { type: 'bearer', token: 'files-token' } });
  });

  after(async () => {
    await patchbay.close();
    await closeServer(upstream.server);
  });

  /** A proxied GET through node:http, so the test controls reading and leaving. */
  function proxiedGet(path: string): Promise<IncomingMessage> {
    const url = new URL(`${patchbay.origin}/v1/connections/${connectionId}/proxy/${path}`);
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { headers: { authorization: `Bearer ${accessKey}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
  }

  /** How a proxied answer's body ends: whole, cut short, or not within 8 s. */
  const howItEnds = (answer: IncomingMessage) =>
    Promise.race([
      once(answer, 'end').then(() => 'ended'),
      once(answer, 'aborted').then(() => 'aborted'),
      once(answer, 'error').then(() => 'aborted'),
      sleep(8000, undefined, { ref: false }).then(() => 'still waiting'),
    ]);

  it('passes a 1 MiB body through whole and byte for byte, with the upstream’s status and content type', async () => {
    const answer = await fetch(`${patchbay.origin}/v1/connections/${connectionId}/proxy/big`, { headers: { authorization: `Bearer ${accessKey}` } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'application/octet-stream');
    const body = Buffer.from(await answer.arrayBuffer());
    assert.equal(body.length, BIG_BODY.length);
    assert.equal(sha256(body), sha256(BIG_BODY));
  });

  it('cuts the answer short within the timeout when the upstream stalls mid-body after 100 KB, instead of hanging the caller', async () => {
    const started = Date.now();
    const answer = await proxiedGet('stall-after-100k');
    assert.equal(answer.statusCode, 200, 'past the buffered part, the answer is already on its way when the stall begins');
    let received = 0;
    answer.on('data', (chunk: Buffer) => (received += chunk.length));
    const ending = await howItEnds(answer);
    assert.equal(ending, 'aborted', 'the caller learns the body is incomplete (the connection is cut, not ended cleanly)');
    assert.equal(received, 100_000, 'what the upstream sent arrived');
    assert.ok(Date.now() - started < 6000, `cut within the 2 s timeout plus slack, took ${Date.now() - started} ms`);
  });

  it('cuts the answer short at once, not at the timeout, when the upstream drops the connection mid-body', async () => {
    const started = Date.now();
    const answer = await proxiedGet('reset-after-100k');
    assert.equal(answer.statusCode, 200);
    answer.resume();
    const ending = await howItEnds(answer);
    assert.equal(ending, 'aborted', 'the caller learns the body is incomplete');
    assert.ok(Date.now() - started < 1500, `cut when the upstream failed, before the 2 s timeout: took ${Date.now() - started} ms`);
  });

  it('stops the upstream exchange when the caller leaves mid-body, so a stream nobody reads does not run on', async () => {
    const answer = await proxiedGet('endless');
    assert.equal(answer.statusCode, 200);
    const source = endless.at(-1)!;
    // Some of the body arrives; then the caller goes away.
    await once(answer, 'data');
    answer.destroy();
    const closed = await Promise.race([once(source, 'close').then(() => true), sleep(5000, undefined, { ref: false }).then(() => false)]);
    assert.ok(closed, 'the upstream saw its connection closed soon after the caller left');
  });

  it('keeps answering small calls on the same upstream after those failures', async () => {
    // The pool must not be left with a wedged connection by the aborted exchanges above.
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${patchbay.origin}/v1/connections/${connectionId}/proxy/missing`, { headers: { authorization: `Bearer ${accessKey}` } });
      assert.equal(answer.status, 404);
      await answer.arrayBuffer();
    }
  });
});
