import { type RawBuilder, sql } from 'kysely';

/**
 * `column` contains `text` literally: `%` and `_` in the text are ordinary characters. The escape
 * character is spelled out, since SQLite's LIKE has none by default and PostgreSQL's is `\`.
 */
export function containsText(column: RawBuilder<unknown>, text: string): RawBuilder<boolean> {
  const pattern = `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  return sql<boolean>`${column} like ${pattern} escape '\\'`;
}

/** `column` starts with `text` literally (the same escaping as `containsText`). */
export function startsWithText(column: RawBuilder<unknown>, text: string): RawBuilder<boolean> {
  const pattern = `${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  return sql<boolean>`${column} like ${pattern} escape '\\'`;
}
