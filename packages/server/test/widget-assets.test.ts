import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { negotiateEncoding } from '../src/http/accept-encoding.js';
import { locateWidgetBundle, type WidgetBundle } from '../src/pages/widget.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with nothing decoded on the way (fetch would undo the content coding). */
function raw(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const decoders: Record<string, (body: Buffer) => Buffer> = { br: brotliDecompressSync, gzip: gunzipSync };

interface Manifest {
  eagerBrotliBytes: number;
  eagerGzipBytes: number;
  eager: Array<{ file: string; bytes: number; brotliBytes: number; gzipBytes: number }>;
}

describe('the widget bundle, served compressed and cacheable', () => {
  let patchbay: TestPatchbay;
  let bundle: WidgetBundle;
  let files: string[];

  before(async () => {
    const located = locateWidgetBundle();
    assert.ok(located, 'build the widget first (npm run build)');
    bundle = located;
    files = readdirSync(bundle.dir).filter((name) => /\.(js|map|json)$/.test(name));
    patchbay = await startPatchbay();
  });

  after(async () => {
    await patchbay?.close();
  });

  it('answers br, gzip and identity with the same bytes once decoded, for every file of the bundle', async () => {
    assert.ok(files.includes('patchbay.js') && files.includes('patchbay.js.map') && files.includes('manifest.json'), files.join(', '));
    for (const file of files) {
      const onDisk = readFileSync(path.join(bundle.dir, file));
      const etags = new Set<string>();
      for (const coding of ['br', 'gzip', 'identity']) {
        const answer = await raw(`${patchbay.origin}/widget/v${bundle.version}/${file}`, { 'accept-encoding': coding });
        assert.equal(answer.status, 200, `${file} ${coding}`);
        assert.equal(answer.headers['content-encoding'], coding === 'identity' ? undefined : coding, `${file} is sent as ${coding}`);
        assert.equal(Number(answer.headers['content-length']), answer.body.length, `${file} ${coding}: Content-Length is the bytes sent`);
        assert.deepEqual(decoders[coding]?.(answer.body) ?? answer.body, onDisk, `${file} ${coding} decodes to the built file`);
        if (coding !== 'identity') assert.ok(answer.body.length < onDisk.length, `${file} ${coding} is smaller`);
        assert.match(String(answer.headers['content-type']), file.endsWith('.js') ? /^text\/javascript; charset=utf-8$/ : /^application\/json; charset=utf-8$/);
        assert.match(String(answer.headers.vary), /accept-encoding/i, `${file} ${coding}: caches keep the codings apart`);
        assert.equal(answer.headers['cache-control'], 'public, max-age=31536000, immutable');
        assert.equal(answer.headers['access-control-allow-origin'], '*');
        etags.add(String(answer.headers.etag));
      }
      assert.equal(etags.size, 3, `${file}: one ETag per representation`);
    }
  });

  it('caches the unversioned path briefly, and answers a revalidation with 304', async () => {
    const latest = await raw(`${patchbay.origin}/widget/patchbay.js`, { 'accept-encoding': 'br' });
    assert.equal(latest.status, 200);
    assert.equal(latest.headers['cache-control'], 'public, max-age=300', 'pages that want the latest see a new build within minutes');
    assert.equal(latest.headers['content-encoding'], 'br');
    const again = await raw(`${patchbay.origin}/widget/patchbay.js`, { 'accept-encoding': 'br', 'if-none-match': String(latest.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const otherCoding = await raw(`${patchbay.origin}/widget/patchbay.js`, { 'accept-encoding': 'gzip', 'if-none-match': String(latest.headers.etag) });
    assert.equal(otherCoding.status, 200, 'the brotli ETag does not validate the gzip bytes');
  });

  it('answers HEAD with the GET headers and no body', async () => {
    for (const coding of ['br', 'gzip', 'identity']) {
      const url = `${patchbay.origin}/widget/v${bundle.version}/patchbay.js`;
      const [head, get] = await Promise.all([raw(url, { 'accept-encoding': coding }, 'HEAD'), raw(url, { 'accept-encoding': coding })]);
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      for (const name of ['content-type', 'content-length', 'content-encoding', 'etag', 'vary', 'cache-control'])
        assert.equal(head.headers[name], get.headers[name], `HEAD ${coding}: ${name}`);
    }
  });

  it('answers an unknown file, another version or a path outside the bundle with a JSON 404', async () => {
    for (const route of [
      '/widget/nope.js',
      `/widget/v${bundle.version}/nope.js`,
      '/widget/v0.0.0-old/patchbay.js',
      '/widget/patchbay.js.br',
      '/widget/..%2F..%2Fpackage.json',
    ]) {
      const answer = await raw(`${patchbay.origin}${route}`, { 'accept-encoding': 'br, gzip' });
      assert.equal(answer.status, 404, route);
      assert.match(String(answer.headers['content-type']), /^application\/json/);
      assert.equal((JSON.parse(answer.body.toString()) as { error: { code: string } }).error.code, 'widget_file_not_found', route);
    }
  });

  it('honours q-values: brotli, then gzip, then identity, never a coding the client refused', () => {
    const both = new Set(['br', 'gzip', 'identity'] as const);
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'identity'],
      ['', 'identity'],
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip, br', 'br'],
      ['br;q=0.5, gzip', 'gzip'],
      ['br;q=0, gzip;q=0.1', 'identity'],
      ['br;q=0, gzip;q=0.1, identity;q=0', 'gzip'],
      ['gzip;q=0, br;q=0', 'identity'],
      ['identity', 'identity'],
      ['*', 'br'],
      ['*;q=0.5, br;q=0', 'gzip'],
      ['identity;q=0.9, gzip;q=0.8', 'identity'],
      ['x-gzip', 'gzip'],
      ['BR;Q=1', 'br'],
      ['br;q=2, gzip;q=0.3, identity;q=0.1', 'gzip'],
      ['identity;q=0, *;q=0', 'identity'],
    ];
    for (const [header, expected] of cases) assert.equal(negotiateEncoding(header, both), expected, `Accept-Encoding: ${header}`);
    assert.equal(negotiateEncoding('br', new Set(['identity'])), 'identity', 'a coding with no file is never chosen');
  });

  it('transfers what manifest.json and the README say a script tag costs, in brotli and gzip', async () => {
    const manifest = JSON.parse(readFileSync(path.join(bundle.dir, 'manifest.json'), 'utf8')) as Manifest;
    assert.ok(manifest.eager.some((file) => file.file === 'patchbay.js'));
    const transferred = { br: 0, gzip: 0 };
    for (const coding of ['br', 'gzip'] as const) {
      for (const { file } of manifest.eager) {
        const answer = await raw(`${patchbay.origin}/widget/v${bundle.version}/${file}`, { 'accept-encoding': coding });
        transferred[coding] += answer.body.length;
      }
    }
    assert.equal(transferred.br, manifest.eagerBrotliBytes, 'brotli bytes on the wire');
    assert.equal(transferred.gzip, manifest.eagerGzipBytes, 'gzip bytes on the wire');

    // The README's figure, in kB of 1000 bytes with one decimal, may lag the build by 2% at most.
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const line = /transfers \*\*([\d.]+) kB\*\* with brotli \(\*\*([\d.]+) kB\*\* with gzip\)/.exec(readme);
    assert.ok(line, 'the README states the script tag’s bytes');
    const expected = (bytes: number) => (bytes / 1000).toFixed(1);
    for (const [stated, bytes, name] of [
      [Number(line[1]), transferred.br, 'brotli'],
      [Number(line[2]), transferred.gzip, 'gzip'],
    ] as const) {
      assert.ok(
        Math.abs(stated * 1000 - bytes) <= bytes * 0.02,
        `README says ${stated} kB ${name}; the build transfers ${bytes} bytes: write **${expected(bytes)} kB**`,
      );
    }
  });
});
