import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeExamples, type FuzzTarget, runFuzz, startFuzzTarget } from './support/fuzz.js';

/** `npm run fuzz` runs 20 000; the suite runs enough to cover every route many times. PATCHBAY_FUZZ_SEED replays a run. */
const REQUESTS = 2000;
const SEED = Number(process.env.PATCHBAY_FUZZ_SEED ?? Date.now() % 2 ** 31);

describe('fuzzing every route of a real server', () => {
  let target: FuzzTarget;

  before(async () => {
    target = await startFuzzTarget();
  });

  after(async () => {
    await target.close();
  });

  it(`answers ${REQUESTS} generated requests with no 5xx, every API error in the JSON shape, and no stack trace, file path or secret`, async (t) => {
    const report = await runFuzz(target, { count: REQUESTS, seed: SEED });
    t.diagnostic(
      `seed ${SEED}: ${report.requests} requests in ${report.milliseconds} ms; 5xx ${report.counts['5xx']}, shape ${report.counts.shape}, ` +
        `stack ${report.counts.stack}, secret ${report.counts.secret}; statuses ${JSON.stringify(report.byStatus)}`,
    );
    assert.equal(report.requests, REQUESTS);
    assert.deepEqual(report.examples, [], `seed ${SEED} (replay with PATCHBAY_FUZZ_SEED=${SEED}):\n${describeExamples(report)}`);
    // The draw must reach past authentication and validation, or it proves little.
    assert.ok((report.byStatus['200'] ?? 0) + (report.byStatus['201'] ?? 0) > REQUESTS / 20, `enough requests succeed: ${JSON.stringify(report.byStatus)}`);
    for (const secret of target.secrets) assert.ok(!target.patchbay.logs.text.includes(secret), 'no secret in the logs');
  });
});
