/** Timestamps are ISO-8601 UTC strings everywhere in the store: portable and sortable as text. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString();
}

let formattedSecond = Number.NaN;
let secondPrefix = '';

/**
 * `isoNow(ms)` for a time of now (not a date far from it): the date and time to the second are
 * formatted once a second, the whole once a millisecond. The hot paths stamp several auth events,
 * request-log rows and log lines each millisecond, and `toISOString` cost more than the rest of a row.
 */
export const isoAt = formattedOncePerMillisecond((ms) => {
  const second = ms - (ms % 1000);
  if (second !== formattedSecond) {
    formattedSecond = second;
    secondPrefix = isoNow(second).slice(0, 20); // "2026-12-04T03:24:43."
  }
  return `${secondPrefix}${String(ms - second).padStart(3, '0')}Z`;
});

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
