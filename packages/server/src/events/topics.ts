/**
 * Topics are slash-separated lowercase segments (`app/order/created`). Patterns use `*` for exactly
 * one segment (`app/order/*`). Grants hold patterns; an event's topic never contains `*`.
 */
const SEGMENT = '[a-z0-9][a-z0-9_.-]{0,62}';
export const TOPIC = new RegExp(`^${SEGMENT}(/${SEGMENT}){1,7}$`);
export const TOPIC_PATTERN = new RegExp(`^(${SEGMENT}|\\*)(/(${SEGMENT}|\\*)){1,7}$`);

/** Whether a concrete topic matches a pattern. */
export function topicMatches(pattern: string, topic: string): boolean {
  const wanted = pattern.split('/');
  const actual = topic.split('/');
  return wanted.length === actual.length && wanted.every((segment, index) => segment === '*' || segment === actual[index]);
}

/** Whether everything `inner` can match is matched by `outer` (a subscription within a grant). */
export function patternCovers(outer: string, inner: string): boolean {
  const wide = outer.split('/');
  const narrow = inner.split('/');
  return wide.length === narrow.length && wide.every((segment, index) => segment === '*' || segment === narrow[index]);
}

/**
 * A LIKE pattern every topic matching `pattern` satisfies, to narrow the query before the exact
 * match in code. Topics hold no `%`; a `_` in one is LIKE's one-character wildcard, which can only
 * widen the match, so nothing needs escaping.
 */
export function likePrefixOf(pattern: string): string {
  return `${pattern.split('*')[0]!}%`;
}
