/** The two envelopes every answer uses: the error (any 4xx/5xx) and the page of a list. */
import { z } from 'zod';

/** `{error: {code, message}}`: every refusal, whatever the route (http/errors.ts answers it). */
export const apiErrorSchema = z.object({ code: z.string(), message: z.string() });
export const errorEnvelopeSchema = z.object({ error: apiErrorSchema });
export type ApiError = z.infer<typeof apiErrorSchema>;
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

/** `{data: [...], next}`: one page and the cursor of the next one (null on the last page). */
export const listEnvelope = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), next: z.string().nullable() });
export interface ListEnvelope<T> {
  data: T[];
  next: string | null;
}

/** `{data}`: an answer that is one object. */
export const dataEnvelope = <T extends z.ZodType>(item: T) => z.object({ data: item });

/**
 * The message of a 400 for input a schema refused: the first bad field and what is wrong with it,
 * or the unknown fields. The server and the mocks say the same thing.
 */
export function problemOf(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'The request is not valid.';
  const path = issue.path.join('.');
  return issue.code === 'unrecognized_keys'
    ? `Unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}.`
    : `${path ? `${path}: ` : ''}${issue.message}`;
}
