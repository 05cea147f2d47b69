/** Timestamps are ISO-8601 UTC strings everywhere in the store: portable and sortable as text. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString();
}

export function isoIn(seconds: number, now = Date.now()): string {
  return new Date(now + seconds * 1000).toISOString();
}

/**
 * `format`, run once per millisecond: a busy server stamps several rows or ids in each one, and
 * formatting a time costs more than the rest of the row.
 */
export function formattedOncePerMillisecond(format: (ms: number) => string): (ms: number) => string {
  let lastMs = Number.NaN;
  let last = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      last = format(ms);
    }
    return last;
  };
}
