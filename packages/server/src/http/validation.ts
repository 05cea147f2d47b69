import { problemOf } from '@patchbay/contract';
import type { z } from 'zod';
import { badRequest } from './errors.js';

/** Parses untrusted input with a zod schema; a failure is a 400 naming the first bad field (the contract's wording). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, code = 'invalid_request'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw badRequest(code, problemOf(result.error));
}
