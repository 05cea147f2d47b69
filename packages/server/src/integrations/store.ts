import type { Kysely } from 'kysely';
import type { Database, IntegrationsTable } from '../store/schema.js';
import { isoNow } from '../store/time.js';
import type { z } from 'zod';
import type { IntegrationDeclaration, integrationViewSchema } from './schema.js';

export type { IntegrationDeclaration } from './schema.js';

/** An integration as every reader sees it (it holds no secret). */
export type Integration = z.output<typeof integrationViewSchema>;

function toIntegration(row: Pick<IntegrationsTable, 'definition' | 'source' | 'created_at' | 'updated_at'>): Integration {
  return { ...(JSON.parse(row.definition) as IntegrationDeclaration), source: row.source, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** The declaration an integration was made from (what a PATCH merges into). */
export function integrationDeclarationOf(integration: Integration): IntegrationDeclaration {
  const { source: _source, createdAt: _createdAt, updatedAt: _updatedAt, ...declaration } = integration;
  return declaration;
}

export async function readIntegration(db: Kysely<Database>, id: string): Promise<Integration | undefined> {
  const row = await db.selectFrom('integrations').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toIntegration(row) : undefined;
}

export async function readIntegrations(db: Kysely<Database>): Promise<Integration[]> {
  const rows = await db.selectFrom('integrations').selectAll().orderBy('id').execute();
  return rows.map(toIntegration);
}

/** Stores an integration; without `overwrite`, only if its id is free (null when it was taken meanwhile). */
export async function writeIntegration(
  db: Kysely<Database>,
  declaration: IntegrationDeclaration,
  source: 'file' | 'api',
  overwrite: boolean,
): Promise<Integration | null> {
  const now = isoNow();
  const row = { id: declaration.id, name: declaration.name, source, definition: JSON.stringify(declaration), created_at: now, updated_at: now };
  const result = await db
    .insertInto('integrations')
    .values(row)
    .onConflict((oc) =>
      overwrite
        ? oc.column('id').doUpdateSet({ name: row.name, source: row.source, definition: row.definition, updated_at: row.updated_at })
        : oc.column('id').doNothing(),
    )
    .executeTakeFirst();
  if (!overwrite && Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return null;
  return (await readIntegration(db, declaration.id))!;
}

/**
 * Writes the file's integrations as `source: "file"`, and forgets the ones the file no longer
 * declares (as before integrations were stored, removing one from the file removes it).
 */
export async function syncFileIntegrations(db: Kysely<Database>, declared: IntegrationDeclaration[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const declaration of declared) await writeIntegration(trx, declaration, 'file', true);
    let stale = trx.deleteFrom('integrations').where('source', '=', 'file');
    if (declared.length > 0)
      stale = stale.where(
        'id',
        'not in',
        declared.map((declaration) => declaration.id),
      );
    await stale.execute();
  });
}
