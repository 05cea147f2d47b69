/**
 * `npm run fuzz`: the fuzz stage at full size (FUZZ_REQUESTS, default 20 000) against a real
 * server on SQLite; prints the counts and exits non-zero on any violation. FUZZ_SEED replays a run.
 */
import { describeExamples, runFuzz, startFuzzTarget } from './support/fuzz.js';

const count = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const target = await startFuzzTarget();
try {
  const report = await runFuzz(target, { count, seed, concurrency: 4 });
  const logLeaks = target.secrets.filter((secret) => target.patchbay.logs.text.includes(secret)).length;
  console.log(
    `fuzz: ${report.requests} requests in ${(report.milliseconds / 1000).toFixed(1)} s (seed ${seed}): ` +
      `5xx ${report.counts['5xx']}, shape violations ${report.counts.shape}, stack traces ${report.counts.stack}, ` +
      `secrets in answers ${report.counts.secret}, secrets in logs ${logLeaks}, no answer ${report.counts['no answer']}`,
  );
  console.log(`by status: ${JSON.stringify(report.byStatus)}`);
  console.log(`slowest: ${report.slowest.map((entry) => `${entry.ms} ms ${entry.method} ${entry.route} → ${entry.status}`).join('; ')}`);
  if (report.examples.length > 0) console.log(describeExamples(report));
  process.exitCode = report.examples.length > 0 || logLeaks > 0 ? 1 : 0;
} finally {
  await target.close();
}
