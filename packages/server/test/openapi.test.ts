import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { routeTable } from '../src/http/route-table.js';
import { openApiPath, undocumentedRoutes } from '../src/openapi/document.js';
import { OPERATIONS } from '../src/openapi/operations/index.js';
import { PROXY_METHODS } from '../src/connections/proxy.js';
import { ROUTES } from '../src/routes.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';

type Document = { openapi: string; paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>> };

describe('the OpenAPI document at /openapi.json', () => {
  let patchbay: TestPatchbay;
  let document: Document;

  before(async () => {
    patchbay = await startPatchbay();
    const response = await fetch(`${patchbay.origin}/openapi.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    document = (await response.json()) as Document;
  });

  after(async () => {
    await patchbay.close();
  });

  it('is a valid OpenAPI 3.1 document, served without credentials', async () => {
    assert.match(document.openapi, /^3\.1\./);
    const result = await new Validator().validate(document as unknown as Parameters<Validator['validate']>[0]);
    assert.deepEqual(result, { valid: true });
  });

  it('has an entry for every line of src/routes.ts, and none for a route that is not there', () => {
    assert.deepEqual(undocumentedRoutes(ROUTES), [], 'these routes have no entry in src/openapi/operations/: add one each');
    const routeKeys = new Set(ROUTES.map(([method, path]) => `${method} ${path}`));
    assert.deepEqual(
      Object.keys(OPERATIONS).filter((key) => !routeKeys.has(key)),
      [],
      'these entries of src/openapi/operations/ name no route of src/routes.ts',
    );
  });

  it('lists exactly the routes the app mounts, read back from its router', () => {
    // The same reading of Express's router as test/routes.test.ts and the metrics.
    const mounted = routeTable(patchbay.patchbay.app).flatMap(({ methods, path }) =>
      methods.flatMap((method) => (method === '*' ? PROXY_METHODS : [method])).map((method) => `${method} ${openApiPath(path)}`),
    );
    const documented = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    assert.deepEqual(
      mounted.filter((route) => !documented.includes(route)),
      [],
      'mounted but missing from /openapi.json',
    );
    assert.deepEqual(
      documented.filter((route) => !mounted.includes(route)),
      [],
      'in /openapi.json but not mounted',
    );
  });

  it('names the credential and scope of each operation, and documents its error answers with the shared envelope', () => {
    const keys = document.paths['/v1/keys']!.get!;
    assert.deepEqual(keys.security, [{ accessKey: ['admin'] }]);
    const read = document.paths['/v1/integrations/{integrationId}/session/{sessionId}']!.get!;
    assert.deepEqual(read.security, [{ accessKey: ['sessions:write'] }, { sessionToken: [] }]);
    assert.deepEqual(document.paths['/healthz']!.get!.security, []);
    const notFound = read.responses['404'] as { content: Record<string, { schema: { allOf: Array<Record<string, unknown>> } }> };
    const schema = notFound.content['application/json']!.schema;
    assert.deepEqual(schema.allOf[0], { $ref: '#/components/schemas/Error' });
    assert.deepEqual(schema.allOf[1], { properties: { error: { properties: { code: { enum: ['session_not_found'] } } } } });
  });
});

describe('the reference page at /docs', () => {
  let patchbay: TestPatchbay;

  before(async () => {
    patchbay = await startPatchbay();
  });

  after(async () => {
    await patchbay.close();
  });

  it('answers without credentials, under a strict policy, with the renderer served from here', async () => {
    const response = await fetch(`${patchbay.origin}/docs`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const policy = Object.fromEntries(
      (response.headers.get('content-security-policy') ?? '').split(';').map((directive) => {
        const [name, ...values] = directive.trim().split(/\s+/);
        return [name, values];
      }),
    );
    assert.deepEqual(policy['default-src'], ["'none'"]);
    assert.deepEqual(policy['script-src'], ["'self'"], 'no inline script, no eval, no other origin');
    assert.deepEqual(policy['connect-src'], ["'self'"]);
    assert.deepEqual(policy['frame-ancestors'], ["'none'"]);
    const page = await response.text();
    assert.doesNotMatch(page, /<script>|<script [^>]*>[^<]/, 'no inline script');
    assert.doesNotMatch(page, /https?:\/\//, 'nothing from another origin');
    const src = /<script src="([^"]+)"/.exec(page)?.[1];
    assert.ok(src, page);

    const bundle = await fetch(new URL(src, patchbay.origin));
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
    assert.match(bundle.headers.get('cache-control') ?? '', /max-age=31536000.*immutable/);
    assert.ok(Number(bundle.headers.get('content-length')) > 500_000, 'the whole standalone bundle');
    assert.match(page, /<redoc spec-url="\/openapi.json"/);
  });
});
