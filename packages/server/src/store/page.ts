/**
 * One page of a keyset listing: the query read `limit + 1` rows ordered by id, and the extra row
 * only says that there is a next page, whose cursor is the last id shown.
 */
export function pageOf<Row extends { id: string }, View>(rows: readonly Row[], limit: number, view: (row: Row) => View): { data: View[]; next: string | null } {
  const page = rows.slice(0, limit);
  return { data: page.map((row) => view(row)), next: rows.length > limit ? page[page.length - 1]!.id : null };
}
