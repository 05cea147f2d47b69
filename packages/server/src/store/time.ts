/** Timestamps are ISO-8601 UTC strings everywhere in the store: portable and sortable as text. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString();
}

export function isoIn(seconds: number, now = Date.now()): string {
  return new Date(now + seconds * 1000).toISOString();
}
