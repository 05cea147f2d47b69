import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { STORE_LABEL, STORE_UNDER_TEST, type ServerProcess, sharedDatabase, type SharedDatabase, startServerProcess } from './support/processes.js';

const PUBLISHERS = 16;
const KILL_AFTER_ANSWERS = 150;

/**
 * Publishes commit in groups (store/group-commit.ts) and each is answered only once its group has
 * committed: a kill -9 in the middle of a stream of publishes loses none that was answered 201, and
 * the log stays numbered without a gap, so cursors taken before the crash stay valid after it.
 */
describe(`events: kill -9 while publishing (${STORE_LABEL})`, () => {
  let database: SharedDatabase;
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await database?.drop();
  });

  it('keeps every event answered 201 with its sequence number, numbers the log 1..n without a gap, and continues at n + 1 after restart', async () => {
    database = sharedDatabase(STORE_UNDER_TEST);
    const first = await startServerProcess({ env: database.env });
    servers.push(first);
    const { key } = await database.accessKey('publisher', ['events:publish']);
    const publish = (server: ServerProcess, i: number) =>
      fetch(`${server.origin}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'crash/published', payload: { i } }),
      });

    const answered = new Map<string, number>();
    let killed = false;
    let next = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (!killed) {
          try {
            const answer = await publish(first, next++);
            if (answer.status !== 201) throw new Error(`publish answered ${answer.status}`);
            const { data } = (await answer.json()) as { data: { id: string; seq: number } };
            answered.set(data.id, data.seq);
          } catch (error) {
            if (killed) return;
            throw error;
          }
          if (!killed && answered.size >= KILL_AFTER_ANSWERS) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        }
      }),
    );
    assert.equal((await first.exited).signal, 'SIGKILL', 'the server died of kill -9');

    const store = await database.open();
    const rows = await store.db.selectFrom('events').select(['id', 'seq']).orderBy('seq').execute();
    const stored = new Map(rows.map((row) => [row.id, Number(row.seq)]));
    for (const [id, seq] of answered) assert.equal(stored.get(id), seq, `event ${id} was answered 201 with seq ${seq}`);
    assert.deepEqual(
      rows.map((row) => Number(row.seq)),
      Array.from({ length: rows.length }, (_, i) => i + 1),
      'numbered 1..n without a gap',
    );

    const second = await startServerProcess({ env: database.env });
    servers.push(second);
    const after = await publish(second, -1);
    assert.equal(after.status, 201);
    assert.equal(((await after.json()) as { data: { seq: number } }).data.seq, rows.length + 1, 'numbering continues after the last committed event');
  });
});
