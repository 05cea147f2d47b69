import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { STORE_LABEL, STORE_UNDER_TEST, type ServerProcess, sharedDatabase, type SharedDatabase, startServerProcess } from './support/processes.js';

const HOST_ORIGIN = 'https://app.example.com';
const INTEGRATION = '/v1/integrations/crash-sync';
const SESSIONS = 60;
const KILL_AFTER_ANSWERS = 20;
const WORKERS = 8;

/** One connector with no credentials: a session is authorized by one form post, so many are cheap to prepare. */
const declarations = {
  connectors: [
    {
      slug: 'plain',
      name: 'Plain',
      description: 'No auth',
      baseUrl: 'http://127.0.0.1:9/plain',
      visibility: 'shared',
      authMethods: [{ type: 'none' }],
      actions: {},
    },
  ],
  integrations: [
    { id: 'crash-sync', name: 'Crash sync', description: '', connectors: ['plain'], allowedOrigins: [HOST_ORIGIN], configFields: [], actions: {} },
  ],
};

const tagsOf = (index: number) => ({ 'fusebit.tenantId': `tenant-${index}`, batch: 'crash', index: String(index), region: index % 2 ? 'eu' : 'us' });

async function pool<T>(items: T[], workers: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

function crashSafety(kind: 'sqlite' | 'postgres') {
  let database: SharedDatabase;
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await database?.drop();
  });

  it(`after kill -9 under a load of session commits, every commit answered 2xx is present after restart, none is half-written, and every session still commits to exactly one install`, async () => {
    database = sharedDatabase(kind);
    const configFile = path.join(database.dataDir, 'patchbay.config.json');
    writeFileSync(configFile, JSON.stringify(declarations));
    const env = { ...database.env, PATCHBAY_CONFIG: configFile };
    const first = await startServerProcess({ env });
    servers.push(first);
    const { key } = await database.accessKey('host-backend', ['sessions:write', 'installs:read', 'installs:write']);
    const call = (server: ServerProcess, route: string, body?: unknown) =>
      fetch(`${server.origin}${route}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    // Authorized sessions, ready to commit.
    const sessions: Array<{ index: number; id: string }> = [];
    await pool(
      Array.from({ length: SESSIONS }, (_, index) => index),
      6,
      async (index) => {
        const created = await call(first, `${INTEGRATION}/session`, { tenantId: `tenant-${index}`, connector: 'plain', tags: tagsOf(index) });
        assert.equal(created.status, 200);
        const { id } = (await created.json()) as { id: string };
        const start = await fetch(`${first.origin}${INTEGRATION}/session/${id}/start?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`);
        assert.equal(start.status, 200, 'the start page is the (empty) credentials form');
        await start.body?.cancel();
        const submitted = await fetch(`${first.origin}${INTEGRATION}/session/${id}/credentials`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        });
        assert.equal(submitted.status, 200);
        await submitted.body?.cancel();
        sessions.push({ index, id });
      },
    );

    // Commit them under load and kill -9 the server part-way.
    const answered = new Map<string, string>();
    let unanswered = 0;
    let killed = false;
    await pool(sessions, WORKERS, async ({ id }) => {
      if (killed) return;
      try {
        const commit = await call(first, `${INTEGRATION}/session/${id}/commit`, {});
        if (commit.status >= 200 && commit.status < 300) {
          const { targetUrl } = (await commit.json()) as { targetUrl: string };
          answered.set(id, targetUrl.split('/').at(-1)!);
        }
      } catch {
        unanswered += 1;
        return;
      }
      if (!killed && answered.size >= KILL_AFTER_ANSWERS) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    });
    const exit = await first.exited;
    assert.equal(exit.signal, 'SIGKILL', 'the server died of kill -9');
    assert.ok(answered.size >= KILL_AFTER_ANSWERS && answered.size < SESSIONS, `the kill came part-way (${answered.size} answered, ${unanswered} cut off)`);

    const second = await startServerProcess({ env });
    servers.push(second);
    const store = await database.open();

    // Every answered commit survived.
    const installs = await store.db.selectFrom('installs').selectAll().execute();
    const bySession = new Map(installs.map((install) => [install.session_id, install]));
    for (const [sessionId, installId] of answered)
      assert.equal(bySession.get(sessionId)?.id, installId, `the commit of ${sessionId} was answered 2xx but its install is missing`);

    // No install, tag set or session link is half-written.
    const tags = await store.db.selectFrom('install_tags').selectAll().execute();
    const sessionRows = await store.db.selectFrom('sessions').select(['id', 'status', 'install_id', 'tags']).execute();
    for (const install of installs) {
      const stored = Object.fromEntries(tags.filter((tag) => tag.install_id === install.id).map((tag) => [tag.tag_key, tag.tag_value]));
      assert.deepEqual(stored, JSON.parse(install.tags), `install ${install.id} has all its tags and no others`);
      const session = sessionRows.find((row) => row.id === install.session_id);
      assert.deepEqual([session?.status, session?.install_id], ['committed', install.id], `the session of install ${install.id} points at it`);
    }
    for (const session of sessionRows.filter((row) => row.install_id !== null || row.status === 'committed')) {
      assert.ok(
        installs.some((install) => install.id === session.install_id),
        `session ${session.id} is committed to an install that exists`,
      );
    }
    assert.ok(
      tags.every((tag) => installs.some((install) => install.id === tag.install_id)),
      'no tag row without its install',
    );

    // The restarted server serves them, and every session (cut off or not) commits to exactly one install.
    const recommits = await Promise.all(
      sessions.map(async ({ id }) => {
        const commit = await call(second, `${INTEGRATION}/session/${id}/commit`, {});
        assert.equal(commit.status, 200, `session ${id} commits after the restart`);
        return [id, ((await commit.json()) as { targetUrl: string }).targetUrl.split('/').at(-1)!] as const;
      }),
    );
    for (const [id, installId] of recommits)
      if (answered.has(id)) assert.equal(installId, answered.get(id), 'a committed session answers its first install again');
    const finalInstalls = await store.db.selectFrom('installs').select(['id', 'session_id']).execute();
    assert.equal(finalInstalls.length, SESSIONS, 'one install per session');
    assert.equal(new Set(finalInstalls.map((install) => install.session_id)).size, SESSIONS);
    for (const [, installId] of recommits) {
      for (let attempt = 0; ; attempt++) {
        const install = (await (await call(second, `${INTEGRATION}/install/${installId}`)).json()) as { operationState: { status: string } };
        if (install.operationState.status === 'success') break;
        assert.ok(attempt < 100, `install ${installId} stays ${install.operationState.status}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const found = (await (await call(second, `${INTEGRATION}/install?tag=batch=crash&limit=100`)).json()) as { data: unknown[] };
    assert.equal(found.data.length, SESSIONS, 'the tag index holds every install');
  });
}

describe(`crash safety: kill -9 under load (${STORE_LABEL})`, () => {
  crashSafety(STORE_UNDER_TEST);
});
