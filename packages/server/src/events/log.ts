/** An event as the API shows it, and the store channel that announces appends (shared by the service and the hub). */
import type { EventsTable } from '../store/schema.js';

export const EVENTS_CHANNEL = 'patchbay_events';

export interface EventView {
  /** The cursor: pass it as `after` or `Last-Event-ID` to continue after this event. */
  seq: number;
  id: string;
  topic: string;
  payload: unknown;
  publishedAt: string;
}

export function toEventView(row: EventsTable): EventView {
  // PostgreSQL's bigint arrives as a string.
  return { seq: Number(row.seq), id: row.id, topic: row.topic, payload: JSON.parse(row.payload) as unknown, publishedAt: row.created_at };
}
