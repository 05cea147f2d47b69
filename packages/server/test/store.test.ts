import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import type { InstallsTable } from '../src/store/schema.js';
import { openStore, type Store, UnsupportedDatabaseError } from '../src/store/store.js';

const FOUNDATION_TABLES = ['server_secrets', 'access_keys', 'auth_events', 'connectors', 'connections', 'sessions', 'installs', 'install_tags'];

const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-store-'));
const opened: Store[] = [];
let fileCount = 0;

function newFile(): string {
  return path.join(dir, `db-${++fileCount}.sqlite`);
}

async function open(file: string): Promise<Store> {
  const store = await openStore(`sqlite:${file}`);
  opened.push(store);
  return store;
}

async function schemaOf(store: Store): Promise<Array<{ type: string; name: string; sql: string | null }>> {
  const result = await sql<{
    type: string;
    name: string;
    sql: string | null;
  }>`select type, name, sql from sqlite_master where name not like 'sqlite_%' order by type, name`.execute(store.db);
  return result.rows;
}

function install(id: string, sessionId: string): InstallsTable {
  const now = new Date().toISOString();
  return {
    id,
    integration_id: 'acme-sync',
    tenant_id: 'tenant-1',
    session_id: sessionId,
    tags: '{}',
    connection_ids: '[]',
    config: '{}',
    status: 'pending',
    status_message: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
}

after(async () => {
  for (const store of opened) await store.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('store', () => {
  describe('migrations', () => {
    it('bring a new SQLite file to the latest schema', async () => {
      const store = await open(newFile());
      const applied = await store.migrate();
      assert.equal(applied[0], '0001_foundation');
      assert.deepEqual(applied, [...applied].sort(), 'migrations run in name order');
      const tables = (await schemaOf(store)).filter((entry) => entry.type === 'table').map((entry) => entry.name);
      for (const table of FOUNDATION_TABLES) assert.ok(tables.includes(table), `table ${table} exists`);
      const recorded = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
      assert.deepEqual(
        recorded.rows.map((row) => row.name),
        applied,
        'every migration that ran is recorded',
      );
    });

    it('are a no-op the second time, in the same process and after reopening the file', async () => {
      const file = newFile();
      const store = await open(file);
      assert.ok((await store.migrate()).length > 0);
      const schema = await schemaOf(store);
      await store.db.insertInto('installs').values(install('ins_kept', 'ses_kept')).execute();

      assert.deepEqual(await store.migrate(), []);
      assert.deepEqual(await schemaOf(store), schema);
      await store.close();

      const reopened = await open(file);
      assert.deepEqual(await reopened.migrate(), []);
      assert.deepEqual(await schemaOf(reopened), schema);
      const rows = await reopened.db.selectFrom('installs').select('id').execute();
      assert.deepEqual(rows, [{ id: 'ins_kept' }], 'data survives a repeated migration');
    });

    it('leave the database in WAL mode', async () => {
      const file = newFile();
      const store = await open(file);
      await store.migrate();
      const live = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
      assert.equal(live.rows[0]?.journal_mode, 'wal');
      await store.close();
      const direct = new SQLite(file, { readonly: true });
      try {
        assert.equal(direct.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        direct.close();
      }
    });
  });

  describe('opening', () => {
    it('creates the parent directories of a new database file', async () => {
      const file = path.join(dir, 'nested', 'deeper', 'patchbay.db');
      const store = await open(file);
      await store.migrate();
      assert.equal(existsSync(file), true);
    });

    it('rejects other URL schemes with UnsupportedDatabaseError, without repeating credentials', async () => {
      for (const url of ['mysql://root:hunter2@db.internal/patchbay', 'file:patchbay.db', 'patchbay.db', 'SQLITE:patchbay.db', '']) {
        await assert.rejects(openStore(url), (error: unknown) => {
          assert.ok(error instanceof UnsupportedDatabaseError, `${url}: ${String(error)}`);
          assert.ok(!error.message.includes('hunter2'), `the message repeats the password: ${error.message}`);
          return true;
        });
      }
    });
  });

  describe('transactions', () => {
    it('leave no row behind when the work inside throws', async () => {
      const file = newFile();
      const store = await open(file);
      await store.migrate();
      const failure = new Error('step two failed');
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto('installs').values(install('ins_rolled_back', 'ses_rolled_back')).execute();
          await trx.insertInto('install_tags').values({ install_id: 'ins_rolled_back', tag_key: 'fusebit.tenantId', tag_value: 'tenant-1' }).execute();
          const inside = await trx.selectFrom('installs').select('id').execute();
          assert.equal(inside.length, 1, 'the insert is visible inside the transaction');
          throw failure;
        }),
        failure,
      );
      assert.deepEqual(await store.db.selectFrom('installs').selectAll().execute(), []);
      assert.deepEqual(await store.db.selectFrom('install_tags').selectAll().execute(), []);
      await store.close();
      const direct = new SQLite(file, { readonly: true });
      try {
        assert.deepEqual(direct.prepare('select count(*) as n from installs').get(), { n: 0 }, 'nothing reached the file');
      } finally {
        direct.close();
      }
    });

    it('keep every row of a transaction that completes', async () => {
      const store = await open(newFile());
      await store.migrate();
      await store.db.transaction().execute(async (trx) => {
        await trx.insertInto('installs').values(install('ins_committed', 'ses_committed')).execute();
        await trx.insertInto('install_tags').values({ install_id: 'ins_committed', tag_key: 'fusebit.tenantId', tag_value: 'tenant-1' }).execute();
      });
      assert.equal((await store.db.selectFrom('installs').select('id').execute()).length, 1);
      assert.equal((await store.db.selectFrom('install_tags').select('install_id').execute()).length, 1);
    });
  });

  describe('constraints', () => {
    it('allow one install per session, so a repeated commit cannot make a second install', async () => {
      const store = await open(newFile());
      await store.migrate();
      await store.db.insertInto('installs').values(install('ins_first', 'ses_once')).execute();
      await assert.rejects(store.db.insertInto('installs').values(install('ins_second', 'ses_once')).execute(), /UNIQUE/);
      assert.deepEqual(await store.db.selectFrom('installs').select('id').execute(), [{ id: 'ins_first' }]);
    });
  });
});
