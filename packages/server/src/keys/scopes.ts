/** Scopes are policy groups: a key holds a set, and `admin` passes every check. */
export const SCOPES = [
  'admin',
  'sessions:write',
  'installs:read',
  'installs:write',
  'connectors:read',
  'connectors:write',
  'partners:write',
  'events:publish',
  'events:consume',
  'webhooks:read',
  'webhooks:write',
  /** Reads /metrics; nothing else. */
  'metrics:read',
] as const;
export type Scope = (typeof SCOPES)[number];

/** What a caller may ask for: the scopes, or `read-only`, which stands for every read scope. */
export const SCOPE_NAMES = [...SCOPES, 'read-only'] as const;
export type ScopeName = (typeof SCOPE_NAMES)[number];

export const READ_SCOPES: Scope[] = ['installs:read', 'connectors:read', 'events:consume', 'webhooks:read'];

export function expandScopes(names: readonly ScopeName[]): Scope[] {
  const out = new Set<Scope>();
  for (const name of names) {
    if (name === 'read-only') READ_SCOPES.forEach((scope) => out.add(scope));
    else out.add(name);
  }
  return [...out].sort();
}

export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(needed);
}
