import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { MAX_JSON_DEPTH } from '../src/http/body.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';

/**
 * jsonBody reads a plain `application/json` body itself and leaves every other one to express.json.
 * Each body here is sent both ways — `application/json` (the direct reader) and
 * `application/json;charset=utf-8` (express.json) — and must get the same answer.
 */
describe('JSON bodies: the direct reader answers every body as express.json does', () => {
  const PAYLOAD_MAX_BYTES = 1024;
  /** The publish route reads bodies up to the payload cap plus 4 KiB for the envelope. */
  const BODY_LIMIT = PAYLOAD_MAX_BYTES + 4096;
  let patchbay: TestPatchbay;
  let key: string;

  before(async () => {
    patchbay = await startPatchbay({ config: { eventPayloadMaxBytes: PAYLOAD_MAX_BYTES } });
    key = await patchbay.accessKey(['events:publish']);
  });

  after(async () => {
    await patchbay.close();
  });

  const publish = async (body: string | Buffer, headers: Record<string, string>) => {
    const answer = await fetch(`${patchbay.origin}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body });
    const text = await answer.text();
    return { status: answer.status, code: answer.status >= 400 ? (JSON.parse(text) as { error: { code: string } }).error.code : null };
  };
  const bothWays = async (body: string | Buffer, extra: Record<string, string> = {}) => {
    const direct = await publish(body, { 'content-type': 'application/json', ...extra });
    const general = await publish(body, { 'content-type': 'application/json;charset=utf-8', ...extra });
    assert.deepEqual(direct, general, `the same answer both ways for ${JSON.stringify(String(body).slice(0, 60))}`);
    return direct;
  };
  const event = (payload: string) => `{"topic":"app/body","payload":${payload}}`;
  const utf8 = (text: string) => Buffer.from(text, 'utf8');

  it('accepts what express.json accepts: whitespace around, a byte-order mark, malformed UTF-8 (decoded to U+FFFD)', async () => {
    assert.equal((await bothWays(event('{"n":1}'))).status, 201);
    assert.equal((await bothWays(` \n\t${event('[1,2]')}\r\n`)).status, 201);
    assert.equal((await bothWays(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(event('"bom"'))]))).status, 201);
    assert.equal((await bothWays(Buffer.concat([utf8('{"topic":"app/body","payload":"a'), Buffer.from([0xff, 0xfe]), utf8('"}')]))).status, 201);
  });

  it('refuses broken JSON and a top-level value other than an object or array with 400 invalid_json', async () => {
    for (const body of ['{"topic":', '"app/body"', '42', 'null', '{"topic":"app/body","payload":1}}', '']) {
      const answer = await bothWays(body);
      if (body === '') assert.equal(answer.status, 400, 'an empty body is an empty object: no topic');
      else assert.deepEqual(answer, { status: 400, code: 'invalid_json' }, body);
    }
  });

  it('refuses a body past the limit with 413 payload_too_large, and answers the next request on the same connection', async () => {
    const big = event(JSON.stringify('x'.repeat(BODY_LIMIT)));
    assert.deepEqual(await bothWays(big), { status: 413, code: 'payload_too_large' });
    assert.equal((await bothWays(event('{"after":"too large"}'))).status, 201);
  });

  it('keeps the depth and NUL checks on both ways', async () => {
    assert.deepEqual(await bothWays(event(`${'['.repeat(MAX_JSON_DEPTH + 1)}1${']'.repeat(MAX_JSON_DEPTH + 1)}`)), { status: 400, code: 'invalid_json' });
    assert.deepEqual(await bothWays(event('{"k\\u0000":1}')), { status: 400, code: 'invalid_json' });
  });

  it('leaves a compressed body to express.json, which inflates it', async () => {
    const answer = await publish(gzipSync(event('{"gz":true}')), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(answer.status, 201);
  });
});
