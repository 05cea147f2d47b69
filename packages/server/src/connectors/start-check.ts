import type { Declarations } from '../declarations.js';
import { DeclarationsError } from '../declarations.js';
import { integrationProblems } from '../integrations/service.js';
import type { Logger } from '../logger.js';
import type { CustomAuthMethods } from './auth-methods.js';
import { type Catalog, declarationOf } from './catalog.js';

/** What `patchbay start` refuses: one line per declaration the running server could not honour. */
export class StartRefused extends DeclarationsError {
  constructor(readonly problems: string[]) {
    super(`Patchbay cannot start: ${problems.length} declaration${problems.length === 1 ? '' : 's'} it could not honour.\n${problems.join('\n')}`);
  }
}

/**
 * Checks the whole catalog (the file's and the API's entries) before the server listens, so a
 * declaration it could not honour stops the start instead of failing a tenant's sign-in later:
 * - a `custom` method whose handler this process has not registered (the start URL would answer 500);
 * - an integration offering an unknown or private connector, or with an action on a connector it
 *   does not list;
 * - a connector the file no longer declares while an integration still offers it.
 * A connector the file no longer declares and nothing offers becomes an API connector (kept with its
 * connections, which the API can then delete).
 */
export async function refuseUnhonourable(catalog: Catalog, declarations: Declarations, customs: CustomAuthMethods, logger: Logger): Promise<void> {
  const problems: string[] = [];
  const declared = new Set(declarations.connectors.map((connector) => connector.slug));
  for (const connector of [...catalog.connectors.values()].sort((a, b) => (a.slug < b.slug ? -1 : 1))) {
    let source = connector.source;
    if (source === 'file' && !declared.has(connector.slug)) {
      const offering = [...catalog.integrations.values()].filter((integration) => integration.connectors.includes(connector.slug));
      if (offering.length > 0) {
        problems.push(
          `connector "${connector.slug}" is no longer declared in ${catalog.fileName}, but ${offering.map((integration) => `integration "${integration.id}"`).join(', ')} offers it. ` +
            'Declare it again, or remove it from those integrations first (PATCH /v1/integrations/<id> while it is still declared).',
        );
      } else {
        source = (await catalog.save(declarationOf(connector), 'api', { keepClientSecret: true })).source;
        logger.warn(
          { connector: connector.slug },
          'connector no longer in the config file: kept (with its connections) as an API connector, which the API can change or delete',
        );
      }
    }
    const where = source === 'file' ? catalog.fileName : 'the API';
    for (const method of connector.authMethods) {
      if (method.type === 'custom' && !customs[method.handler])
        problems.push(
          `connector "${connector.slug}" (from ${where}): its custom auth method handler "${method.handler}" is not registered. ` +
            `Register it with createPatchbay(config, { authMethods: { "${method.handler}": defineAuthMethod(…) } }), or remove the method from the connector.`,
        );
    }
  }
  for (const integration of [...catalog.integrations.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const where = integration.source === 'file' ? catalog.fileName : 'the API';
    for (const problem of integrationProblems(catalog, integration))
      problems.push(`integration "${integration.id}" (from ${where}): ${problem.field}: ${problem.message}.`);
  }
  if (problems.length > 0) throw new StartRefused(problems);
}
