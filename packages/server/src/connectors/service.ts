import type { AppContext } from '../context.js';
import { writeAudit } from '../audit/service.js';
import { badRequest, HttpError } from '../http/errors.js';
import type { Connector } from './catalog.js';
import type { AuthMethod, ConnectorDeclaration } from './schema.js';

/** `Salesforce Sandbox` → `salesforce-sandbox`. Non-Latin names fall back to `connector` (or the given word). */
export function slugify(name: string, fallback = 'connector'): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return slug || fallback;
}

/** A slug that clashes gets `-2`, `-3`, … — never an error the user has to fix. */
export function uniqueSlug(wanted: string, taken: (slug: string) => boolean): string {
  if (!taken(wanted)) return wanted;
  for (let n = 2; ; n++) {
    const candidate = `${wanted}-${n}`;
    if (!taken(candidate)) return candidate;
  }
}

/** Methods the API may store: a registered custom handler, a client secret given as itself. */
export function assertMethodsUsable(deps: Pick<AppContext, 'customAuthMethods'>, methods: AuthMethod[]): void {
  for (const [index, method] of methods.entries()) {
    if (method.type === 'custom' && !deps.customAuthMethods[method.handler])
      throw badRequest('invalid_request', `authMethods: no custom auth method "${method.handler}" is registered on this server.`);
    // `{ "env": NAME }` is resolved when the declarations file is read; over the API it would be
    // stored as no secret at all, so the operator is told instead of getting a connector that fails later.
    if (method.type === 'oauth2' && method.clientSecret !== undefined && typeof method.clientSecret !== 'string') {
      throw badRequest('invalid_request', `authMethods.${index}.clientSecret: send the secret itself; { "env": … } works only in the declarations file.`);
    }
  }
}

export async function createConnector(
  deps: Pick<AppContext, 'store' | 'catalog' | 'customAuthMethods'>,
  input: Omit<ConnectorDeclaration, 'slug'> & { slug?: string | undefined },
  actor: string,
): Promise<Connector> {
  assertMethodsUsable(deps, input.authMethods);
  let connector: Connector | null = null;
  // The slug is claimed by the insert itself; losing a race to another request means the next suffix.
  for (let attempt = 0; connector === null; attempt++) {
    if (attempt === 20) throw new HttpError(409, 'slug_unavailable', 'Could not find a free slug for this name; try another name.');
    await deps.catalog.refresh();
    const slug = uniqueSlug(input.slug ?? slugify(input.name), (candidate) => deps.catalog.connectors.has(candidate));
    connector = await deps.catalog.insert({ ...input, slug }, 'api');
  }
  const slug = connector.slug;
  await writeAudit(deps.store.db, {
    actor,
    action: 'connector.created',
    targetType: 'connector',
    targetId: slug,
    details: { name: connector.name, methods: connector.authMethods.map((m) => m.type) },
  });
  return connector;
}
