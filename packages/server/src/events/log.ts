/** An event as the API shows it, and the store channel that announces appends (shared by the service and the hub). */
import type { z } from 'zod';
import type { EventsTable } from '../store/schema.js';
import type { eventViewSchema } from './schema.js';

export const EVENTS_CHANNEL = 'patchbay_events';

export type EventView = z.output<typeof eventViewSchema>;

export function toEventView(row: EventsTable): EventView {
  // PostgreSQL's bigint arrives as a string.
  return { seq: Number(row.seq), id: row.id, topic: row.topic, payload: JSON.parse(row.payload) as unknown, publishedAt: row.created_at };
}
