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

const frames = new WeakMap<EventView, string>();

/**
 * An event as a Server-Sent Events frame, its id the cursor. Made once per event: the hub hands the
 * same event objects to every open stream, so fifty subscribers cost one serialization, not fifty.
 */
export function sseFrameOf(event: EventView): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = `id: ${event.seq}\nevent: ${event.topic}\ndata: ${JSON.stringify(event)}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}
