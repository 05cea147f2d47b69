import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { routeTable } from '../src/http/route-table.js';
import { ROUTES } from '../src/routes.js';
import { startPatchbay, type TestPatchbay } from './support/harness.js';

describe('the table of contents in src/routes.ts', () => {
  let patchbay: TestPatchbay;

  before(async () => {
    patchbay = await startPatchbay();
  });

  after(async () => {
    await patchbay.close();
  });

  it('lists exactly the routes Express serves, in the order it tries them, with their handlers', () => {
    // What Express really mounted, read back from its router (the same reading the metrics use).
    const served = routeTable(patchbay.patchbay.app).map(({ methods, path, handler }) => [methods.join(','), path, handler]);
    assert.deepEqual(
      served,
      ROUTES.map((line) => [...line]),
      'src/routes.ts and the mounted routers disagree: change both together',
    );
  });

  it('names each route once', () => {
    const keys = ROUTES.map(([method, path]) => `${method} ${path}`);
    assert.deepEqual(
      keys.filter((key, index) => keys.indexOf(key) !== index),
      [],
    );
  });
});
