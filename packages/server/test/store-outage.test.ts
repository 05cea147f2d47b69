import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import type { Store } from '../src/store/store.js';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';
import { POSTGRES_URL, type ServerProcess, sharedDatabase, type SharedDatabase, startServerProcess, STORE_UNDER_TEST } from './support/processes.js';
import { startTcpCutter, type TcpCutter } from './support/tcp-cutter.js';

const INTEGRATION = '/v1/integrations/acme-sync';

/**
 * A request that may not hang: whatever the database does, an answer comes within `ms`. Each on a
 * fresh connection, so an idle keep-alive socket the server closes meanwhile cannot fail it.
 */
async function callWithin(ms: number, url: string, init: { method: string; headers: Record<string, string>; body: string }) {
  const answer = await new Promise<{ status: number; text: string; retryAfter: string | null }>((resolve, reject) => {
    const req = httpRequest(url, { method: init.method, headers: init.headers, agent: false, timeout: ms }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, retryAfter: res.headers['retry-after'] ?? null }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ms} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
  return { status: answer.status, body: JSON.parse(answer.text) as Record<string, unknown>, retryAfter: answer.retryAfter };
}

// Each store's outage is tested in the run of the suite on that store (see STORE_UNDER_TEST).
if (STORE_UNDER_TEST === 'sqlite')
  describe('a SQLite file locked by another process', () => {
    let patchbay: TestPatchbay;
    let key: string;
    let dir: string;

    before(async () => {
      // Always a SQLite file, in both halves of the suite: this is about SQLite's own lock.
      dir = mkdtempSync(path.join(tmpdir(), 'patchbay-lock-'));
      patchbay = await startPatchbay({
        declarations: { connectors: [], integrations: [] },
        config: { databaseUrl: `sqlite:${path.join(dir, 'patchbay.db')}`, dbSchema: null },
      });
      key = await patchbay.accessKey(['events:publish']);
    });
    after(async () => {
      await patchbay?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers a bounded 503 store_unavailable with Retry-After while the lock is held, and serves again once it is released', async () => {
      const publish = () =>
        callWithin(20_000, `${patchbay.origin}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ topic: 'app/order/created', payload: { n: 1 } }),
        });
      assert.equal((await publish()).status, 201, 'publishes before the lock');

      // Another process (a backup tool, a migration) takes the write lock on the same file.
      const other = new SQLite(patchbay.config.databaseUrl.slice('sqlite:'.length));
      other.exec('BEGIN EXCLUSIVE');
      try {
        // Past the auth-event batch's 50 ms delay: the first publish's auth event meets the lock
        // before the next publish does, as background writes do on a busy server. Such a batch
        // must fail fast and retry, not hold every request while it waits for the lock.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const started = Date.now();
        const locked = await publish();
        assert.equal(locked.status, 503);
        assert.equal((locked.body.error as { code: string }).code, 'store_unavailable');
        assert.equal(locked.retryAfter, '2');
        assert.ok(Date.now() - started < 15_000, 'the wait for the lock is bounded');
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      assert.equal((await publish()).status, 201, 'serves again without a restart');
    });
  });

/**
 * Two `patchbay start` processes reach PostgreSQL through a TCP forwarder the test cuts and
 * restores (the machine's shared PostgreSQL itself is never stopped).
 */
if (STORE_UNDER_TEST === 'postgres')
  describe('PostgreSQL goes away under load and comes back', () => {
    let database: SharedDatabase;
    let cutter: TcpCutter;
    let thirdParty: ThirdParty;
    let servers: ServerProcess[];
    let store: Store;
    let key: string;

    before(async () => {
      database = sharedDatabase('postgres');
      const real = new URL(POSTGRES_URL!);
      cutter = await startTcpCutter({ host: real.hostname, port: Number(real.port || 5432) });
      const throughCutter = new URL(POSTGRES_URL!);
      throughCutter.host = `127.0.0.1:${cutter.port}`;
      thirdParty = await startThirdParty({ redirectUri: 'http://127.0.0.1/oauth/callback' });
      const configFile = path.join(database.dataDir, 'patchbay.config.json');
      writeFileSync(configFile, JSON.stringify(oauthDeclarations(thirdParty, { allowedOrigins: ['https://app.example.com'] })));
      const env = { ...database.env, DATABASE_URL: throughCutter.toString(), PATCHBAY_CONFIG: configFile, PATCHBAY_EVENT_HEARTBEAT_SECONDS: '1' };
      store = await database.open();
      key = (await database.accessKey('host-backend', ['sessions:write', 'events:publish', 'events:consume'])).key;
      servers = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
    });

    after(async () => {
      await Promise.all((servers ?? []).map((server) => server.stop()));
      await cutter?.close();
      await thirdParty?.close();
      await database?.drop();
    });

    it('answers fast 503s while cut, ends event streams with their cursor, loses nothing acknowledged, and both instances recover alone', async (t) => {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const acknowledged = { sessions: [] as string[], events: [] as number[] };
      const refusals: number[] = [];
      const unexpected: string[] = [];
      let writes = 0;

      // A stream on instance A, open before the cut.
      const stream = await fetch(`${servers[0]!.origin}/v1/events/stream?topics=app/*`, { headers });
      assert.equal(stream.status, 200);
      const streamText = (async () => {
        let text = '';
        const decoder = new TextDecoder();
        try {
          for await (const chunk of stream.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
        } catch (error) {
          throw new Error(
            `the stream broke instead of ending (${(error as Error).message}) after:\n${text.slice(-500)}\n${servers[0]!.output().slice(-3000)}`,
            {
              cause: error,
            },
          );
        }
        return text;
      })();

      const writeOnce = async (server: ServerProcess) => {
        const n = (writes += 1);
        const isSession = n % 2 === 0;
        const started = Date.now();
        try {
          const answer = await callWithin(
            15_000,
            isSession ? `${server.origin}${INTEGRATION}/session` : `${server.origin}/v1/events`,
            isSession
              ? { method: 'POST', headers, body: JSON.stringify({ tenantId: `tenant-${n}` }) }
              : { method: 'POST', headers, body: JSON.stringify({ topic: 'app/order/created', payload: { n } }) },
          );
          if (answer.status === 200 && isSession) acknowledged.sessions.push(String(answer.body.id));
          else if (answer.status === 201 && !isSession) acknowledged.events.push(Number((answer.body.data as { seq: number }).seq));
          else if (answer.status === 503 && (answer.body.error as { code: string }).code === 'store_unavailable') refusals.push(Date.now() - started);
          else unexpected.push(`${answer.status} ${JSON.stringify(answer.body)}`);
        } catch (error) {
          unexpected.push(`no answer: ${(error as Error).message}`);
        }
      };
      const load = async (until: () => boolean) => {
        while (!until()) await Promise.all(servers.map((server) => writeOnce(server)));
      };

      await load(() => writes >= 20);
      cutter.cut();
      const cutAt = Date.now();
      await load(() => Date.now() - cutAt > 4_000);
      cutter.restore();

      // Both instances serve again by themselves.
      const recoveredBy = Date.now() + 30_000;
      for (const server of servers) {
        for (;;) {
          const before = acknowledged.events.length;
          await writeOnce(server);
          await writeOnce(server);
          if (acknowledged.events.length > before) break;
          assert.ok(Date.now() < recoveredBy, `instance ${server.origin} did not recover within 30 s:\n${server.output().slice(-2000)}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      const afterRecovery = writes + 40;
      await load(() => writes >= afterRecovery);

      assert.deepEqual(unexpected, [], 'every answer was a success or a 503 store_unavailable');
      assert.ok(refusals.length > 0, 'the cut was felt');
      refusals.sort((a, b) => a - b);
      assert.ok(refusals[Math.floor(refusals.length / 2)]! < 6_000, `refusals are fast (median ${refusals[Math.floor(refusals.length / 2)]} ms)`);

      t.diagnostic(
        `${acknowledged.sessions.length} sessions and ${acknowledged.events.length} events acknowledged; ${refusals.length} refusals, median ${refusals[Math.floor(refusals.length / 2)]} ms`,
      );
      const sessions = await store.db.selectFrom('sessions').select('id').where('id', 'in', acknowledged.sessions).execute();
      assert.equal(sessions.length, acknowledged.sessions.length, 'every acknowledged session is stored');
      const events = await store.db.selectFrom('events').select('seq').orderBy('seq').execute();
      const stored = new Set(events.map((row) => Number(row.seq)));
      assert.deepEqual(
        acknowledged.events.filter((seq) => !stored.has(seq)),
        [],
        'every acknowledged event is stored',
      );
      assert.deepEqual(
        events.map((row) => Number(row.seq)),
        events.map((_row, index) => index + 1),
        'the event log has no gap',
      );

      // The stream opened before the cut ended with its cursor, for Last-Event-ID to resume from.
      const text = await Promise.race([streamText, new Promise<string>((_, reject) => setTimeout(() => reject(new Error('the stream never ended')), 20_000))]);
      const resume = /id: (\d+)\nevent: patchbay\.resume\ndata: (.+)\n\n$/.exec(text);
      assert.ok(resume, `the stream ends with a resumable cursor:\n${text.slice(-500)}`);
      assert.equal(JSON.parse(resume[2]!).reason, 'store_unavailable');
    });
  });
