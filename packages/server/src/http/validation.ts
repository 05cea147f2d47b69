import type { z } from 'zod';
import { badRequest } from './errors.js';

/** Parses untrusted input with a zod schema; a failure is a 400 naming the first bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, code = 'invalid_request'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw badRequest(code, 'The request is not valid.');
  const path = issue.path.join('.');
  const message =
    issue.code === 'unrecognized_keys'
      ? `Unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}.`
      : `${path ? `${path}: ` : ''}${issue.message}`;
  throw badRequest(code, message);
}
