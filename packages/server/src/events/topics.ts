/**
 * Topics are slash-separated lowercase segments (`app/order/created`). Patterns use `*` for exactly
 * one segment (`app/order/*`). Grants hold patterns; an event's topic never contains `*`. The
 * formats, and whether one pattern covers another, are the contract's (the mocks check them too).
 */
import { patternCovers } from '@patchbay/contract';

export { patternCovers, TOPIC, TOPIC_PATTERN } from '@patchbay/contract';

/** Whether a concrete topic matches a pattern. */
export function topicMatches(pattern: string, topic: string): boolean {
  // A concrete topic is the narrowest pattern: the pattern matches it when it covers it.
  return patternCovers(pattern, topic);
}

/**
 * A LIKE pattern every topic matching `pattern` satisfies, to narrow the query before the exact
 * match in code. Topics hold no `%`; a `_` in one is LIKE's one-character wildcard, which can only
 * widen the match, so nothing needs escaping.
 */
export function likePrefixOf(pattern: string): string {
  return `${pattern.split('*')[0]!}%`;
}
