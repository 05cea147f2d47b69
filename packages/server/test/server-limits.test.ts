import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../src/config.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';
import { rawExchange, type RawAnswer } from './support/raw-http.js';

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1200;

function assertJsonError(answer: RawAnswer, status: number, code: string, what: string): void {
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.body}`);
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/, `${what}: JSON`);
  assert.equal(answer.headers.connection, 'close', `${what}: the connection closes`);
  const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
  assert.equal(body.error.code, code, what);
}

describe('the listener settings', () => {
  const env = { PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'), PATCHBAY_DATA_DIR: '/nonexistent-patchbay-test' };

  it('default to 10 s for headers, 30 s for a whole request and 5 s for an idle keep-alive connection', () => {
    const config = loadConfig([], env);
    assert.deepEqual([config.headersTimeoutMs, config.requestTimeoutMs, config.keepAliveTimeoutMs], [10_000, 30_000, 5_000]);
  });

  it('refuse a headers timeout longer than the request timeout, which Node would refuse at start-up', () => {
    assert.throws(() => loadConfig([], { ...env, PATCHBAY_HEADERS_TIMEOUT_MS: '20000', PATCHBAY_REQUEST_TIMEOUT_MS: '10000' }), ConfigError);
  });
});

describe('the listener: slow clients are cut, malformed requests answered in JSON, event streams left alone', () => {
  let patchbay: TestPatchbay;
  let key: string;

  before(async () => {
    patchbay = await startPatchbay({
      config: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, eventHeartbeatSeconds: 1 },
    });
    key = await patchbay.accessKey(['events:publish', 'events:consume']);
  });

  after(async () => {
    await patchbay.close();
  });

  it('cuts a body that trickles in with 408 request_timeout and closes the connection, within the request timeout', async () => {
    const host = new URL(patchbay.origin).host;
    const answer = await rawExchange(
      patchbay.origin,
      `POST /v1/events HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`,
      { trickle: '1\r\n \r\n', everyMs: 100 },
    );
    assertJsonError(answer, 408, 'request_timeout', 'a trickled body');
    assert.ok(answer.closedAfterMs >= REQUEST_TIMEOUT_MS - 100, `not before the limit (${answer.closedAfterMs} ms)`);
    // Node checks the deadline every quarter of the shortest limit; a slow machine adds a little.
    assert.ok(answer.closedAfterMs < REQUEST_TIMEOUT_MS + 3000, `soon after the limit (${answer.closedAfterMs} ms), not Node's 300 s`);
  });

  it('cuts headers that trickle in with 408 within the headers timeout', async () => {
    const answer = await rawExchange(patchbay.origin, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', { trickle: 'X-Slow: y\r\n', everyMs: 100 });
    assertJsonError(answer, 408, 'request_timeout', 'trickled headers');
    assert.ok(answer.closedAfterMs < HEADERS_TIMEOUT_MS + 3000, `soon after the limit (${answer.closedAfterMs} ms)`);
  });

  it('answers what the HTTP parser refuses in the JSON error shape: a bad method, 20 KB of headers, conflicting lengths', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['a method token the parser does not know', 'BR@W /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
      ['20 KB of headers', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      ['two different Content-Lengths', 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 400, 'bad_request'],
      ['Content-Length with chunked', 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}', 400, 'bad_request'],
      ['a request line that is not HTTP', 'hello there\r\n\r\n', 400, 'bad_request'],
    ];
    for (const [what, request, status, code] of cases) assertJsonError(await rawExchange(patchbay.origin, request), status, code, what);
  });

  it('keeps an event stream open past the request timeout, with its heartbeats, and delivers to it', async () => {
    const controller = new AbortController();
    const stream = await fetch(`${patchbay.origin}/v1/events/stream?topics=app/limits`, {
      headers: { authorization: `Bearer ${key}` },
      signal: controller.signal,
    });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const started = Date.now();
    // Reads past three request timeouts, counting the heartbeats that arrive meanwhile.
    while (Date.now() - started < REQUEST_TIMEOUT_MS * 3) {
      const { value, done } = await reader.read();
      assert.ok(!done, `the stream ended after ${Date.now() - started} ms`);
      text += decoder.decode(value);
    }
    assert.ok((text.match(/: keep-alive/g) ?? []).length >= 2, `heartbeats kept coming: ${JSON.stringify(text)}`);
    const published = await fetch(`${patchbay.origin}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'app/limits', payload: { late: true } }),
    });
    assert.equal(published.status, 201);
    while (!text.includes('"late":true')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream is still open for the event');
      text += decoder.decode(value);
    }
    controller.abort();
  });
});
