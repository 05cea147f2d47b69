/**
 * The hot paths' timestamps (auth events, request-log rows, log lines) come from `isoAt`, which
 * formats the date once a second: it must give exactly what `toISOString` gives, in any order of calls.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/logger.js';
import { isoAt } from '../src/store/time.js';

describe('isoAt', () => {
  it('equals toISOString across milliseconds, seconds, days and years, forwards and backwards', () => {
    const times = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 998),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 0, 1, 0, 0, 0, 0),
      Date.UTC(2027, 0, 1, 0, 0, 0, 7),
      Date.UTC(2027, 0, 1, 0, 0, 0, 70),
      Date.UTC(2026, 11, 31, 23, 59, 59, 500), // back into the second formatted before
      Date.now(),
    ];
    for (const ms of [...times, ...times.toReversed()]) assert.equal(isoAt(ms), new Date(ms).toISOString(), `for ${ms}`);
  });

  it("stamps each log line's time as an ISO string", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const before = Date.now();
    createLogger('info', sink).info('stamped');
    const { time } = JSON.parse(lines[0]!) as { time: string };
    assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(time) >= before && Date.parse(time) <= Date.now(), `${time} is now`);
  });
});
