import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { STORE_LABEL, STORE_UNDER_TEST, runCli, sharedDatabase, type SharedDatabase } from './support/processes.js';

const PROCESSES = 4;

/** Every table, column and index the migrations made, in a form that compares across runs. */
async function schemaOf(database: SharedDatabase): Promise<string[]> {
  const store = await database.open();
  if (store.dialect === 'sqlite') {
    const rows = await sql<{
      type: string;
      name: string;
      sql: string | null;
    }>`select type, name, sql from sqlite_master where name not like 'sqlite_%' order by type, name`.execute(store.db);
    return rows.rows.map((row) => `${row.type} ${row.name} ${row.sql ?? ''}`);
  }
  const schema = database.env.PATCHBAY_DB_SCHEMA!;
  const columns = await sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>`
    select table_name, column_name, data_type, is_nullable from information_schema.columns where table_schema = ${schema} order by table_name, column_name`.execute(
    store.db,
  );
  const indexes = await sql<{
    indexname: string;
    indexdef: string;
  }>`select indexname, indexdef from pg_indexes where schemaname = ${schema} order by indexname`.execute(store.db);
  return [
    ...columns.rows.map((c) => `column ${c.table_name}.${c.column_name} ${c.data_type} ${c.is_nullable}`),
    ...indexes.rows.map((i) => `index ${i.indexname}`),
  ];
}

function migrateConcurrently(kind: 'sqlite' | 'postgres') {
  const databases: SharedDatabase[] = [];
  after(() => Promise.all(databases.map((database) => database.drop())));

  it(`${PROCESSES} \`patchbay migrate\` processes started at once on a fresh database all succeed, apply each migration exactly once, and leave the schema one migrate alone makes`, async () => {
    const [together, alone] = [sharedDatabase(kind), sharedDatabase(kind)];
    databases.push(together, alone);
    const [single, ...runs] = await Promise.all([
      runCli(['migrate'], alone.env),
      ...Array.from({ length: PROCESSES }, () => runCli(['migrate'], together.env)),
    ]);
    for (const run of [single!, ...runs]) assert.equal(run.code, 0, `a migrate process failed:\n${run.stdout}${run.stderr}`);
    const applied = runs.flatMap((run) => /^Applied: (.*)$/m.exec(run.stdout)?.[1]?.split(', ') ?? []);
    const store = await together.open();
    const recorded = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db)).rows.map((row) => row.name);
    assert.ok(recorded.length >= 4, 'the migrations were recorded');
    assert.deepEqual([...applied].sort(), recorded, 'each migration was applied by exactly one of the processes');
    assert.equal(runs.filter((run) => run.stdout.includes('The database is up to date.')).length, PROCESSES - 1, 'the others found it up to date');
    const expected = await schemaOf(alone);
    assert.ok(expected.length > 20, 'the schema was read');
    assert.deepEqual(await schemaOf(together), expected);
  });
}

describe(`patchbay migrate from several processes at once (${STORE_LABEL})`, () => {
  migrateConcurrently(STORE_UNDER_TEST);
});
