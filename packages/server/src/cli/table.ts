/**
 * Human output: tables with fixed columns per resource (two spaces apart, padded, long text cut
 * with …) and `label: value` blocks for one record. Dates print as ISO 8601 to the second, in UTC.
 */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Longer cells are cut to this width; ids are left whole so they can be pasted into the next command. */
  max?: number;
}

export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An ISO 8601 date, to the second; anything that is not a date stays as it was. */
export function iso(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '-';
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One cell's text: '-' for nothing, lists joined by commas, objects as compact JSON, on one line. */
export function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => cut(cell(column.value(row)), column.max ?? Number.POSITIVE_INFINITY)));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => line[index]!.length)));
  const line = (values: string[]) =>
    values
      .map((value, index) => (index === values.length - 1 ? value : value.padEnd(widths[index]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header.toUpperCase())), ...cells.map(line)].join('\n');
}

/** `label: value` lines, the values aligned. */
export function renderDetails(pairs: ReadonlyArray<readonly [label: string, value: unknown]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${cell(value)}`).join('\n');
}

/** A titled section of a `show`: a table, or a line saying there is nothing. */
export function renderSection<T>(title: string, rows: readonly T[], columns: readonly Column<T>[]): string {
  return rows.length === 0 ? `\n${title}: none` : `\n${title}:\n${renderTable(rows, columns)}`;
}

/** `k=v` pairs, for tags and config values. */
export function pairs(record: Record<string, unknown> | undefined): string {
  return Object.entries(record ?? {})
    .map(([key, value]) => `${key}=${cell(value)}`)
    .join(',');
}
