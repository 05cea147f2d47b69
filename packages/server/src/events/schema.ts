import { z } from 'zod';
import { dataEnvelope, topicPatternSchema } from '@patchbay/contract';
import { TOPIC } from './topics.js';

export const publishSchema = z.strictObject({
  topic: z.string().regex(TOPIC, 'a topic like app/order/created: lowercase segments separated by /'),
  payload: z.unknown().refine((payload) => payload !== undefined, 'required'),
});

const cursor = z
  .string()
  .regex(/^\d{1,15}$/, 'an event sequence number')
  .transform(Number);

/** `topics` is a comma list of topics or patterns (`app/order/*`). */
const topicsParam = z
  .string()
  .min(1)
  .max(2000)
  .transform((text) => [
    ...new Set(
      text
        .split(',')
        .map((topic) => topic.trim())
        .filter(Boolean),
    ),
  ])
  .pipe(z.array(topicPatternSchema).min(1).max(20));

/** Without `topics`, a partner key reads the topics it chose to consume in the portal. */
export const pollSchema = z.object({
  topics: topicsParam.optional(),
  after: cursor.default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const streamSchema = z.object({
  topics: topicsParam.optional(),
  after: cursor.optional(),
});

export const lastEventIdSchema = cursor;

/** An event as answers and the stream show it. */
export const eventViewSchema = z.object({
  /** The cursor: pass it as `after` or `Last-Event-ID` to continue after this event. */
  seq: z.number().int(),
  id: z.string(),
  topic: z.string(),
  payload: z.unknown(),
  publishedAt: z.string(),
});
/** Publishing: the new event's id and its place in the log. */
export const publishedEventSchema = dataEnvelope(eventViewSchema.pick({ seq: true, id: true }));
/** A poll's page: `next` is always the cursor to poll from next (the last event's `seq`, or `after` when none came). */
export const eventPageSchema = z.object({ data: z.array(eventViewSchema), next: z.string() });
