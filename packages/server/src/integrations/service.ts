import { changedFields, writeAudit } from '../audit/service.js';
import { type Catalog, type Integration } from '../connectors/catalog.js';
import { slugify, uniqueSlug } from '../connectors/service.js';
import type { AppContext } from '../context.js';
import { badRequest, conflict, HttpError, notFound } from '../http/errors.js';
import { isoNow } from '../store/time.js';
import { parseInput } from '../http/validation.js';
import type { z } from 'zod';
import {
  type CreateIntegrationInput,
  type deletedIntegrationSchema,
  type IntegrationDeclaration,
  integrationDeclarationSchema,
  type UpdateIntegrationInput,
} from './schema.js';
import { integrationDeclarationOf } from './store.js';

type Deps = Pick<AppContext, 'store' | 'catalog'>;

/** Sessions still waiting for a person; deleting their integration ends them. */
const OPEN_SESSION_STATUSES = ['created', 'started', 'configuring', 'authorized'] as const;

export interface Problem {
  /** The field at fault, e.g. `connectors.1` or `actions.sync.connector`. */
  field: string;
  message: string;
}

/** Everything about an integration the running server could not honour, given its connectors. */
export function integrationProblems(catalog: Pick<Catalog, 'connectors'>, integration: IntegrationDeclaration): Problem[] {
  const problems: Problem[] = [];
  for (const [index, slug] of integration.connectors.entries()) {
    const connector = catalog.connectors.get(slug);
    if (!connector) problems.push({ field: `connectors.${index}`, message: `no connector "${slug}" exists` });
    else if (connector.visibility === 'private')
      problems.push({
        field: `connectors.${index}`,
        message: `connector "${slug}" is private (the operator's own test connector) and cannot be offered in an integration; make it shared first`,
      });
  }
  const fieldNames = integration.configFields.map((field) => field.name);
  for (const [index, name] of fieldNames.entries()) {
    if (fieldNames.indexOf(name) !== index) problems.push({ field: `configFields.${index}.name`, message: `"${name}" is already a configuration field` });
  }
  // An action's path is filled from the tenant and its configuration only; any other placeholder would go upstream empty.
  const fillable = new Set(['tenantId', ...fieldNames.map((name) => `config.${name}`)]);
  for (const [name, action] of Object.entries(integration.actions)) {
    if (!integration.connectors.includes(action.connector))
      problems.push({
        field: `actions.${name}.connector`,
        message: `action uses connector "${action.connector}", which the integration does not list in connectors`,
      });
    for (const [, placeholder] of action.path.matchAll(/\{([A-Za-z0-9_.]+)\}/g)) {
      if (!fillable.has(placeholder!))
        problems.push({ field: `actions.${name}.path`, message: `{${placeholder}} is neither {tenantId} nor {config.<name>} of a configuration field` });
    }
  }
  return problems;
}

function assertHonourable(catalog: Pick<Catalog, 'connectors'>, integration: IntegrationDeclaration): void {
  const problems = integrationProblems(catalog, integration);
  if (problems.length > 0) throw badRequest('invalid_request', problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '));
}

/** The integration, re-read from the store (another instance may have changed it), or 404. */
export async function loadIntegration(deps: Pick<AppContext, 'catalog'>, integrationId: string): Promise<Integration> {
  const integration = await deps.catalog.loadIntegration(integrationId);
  if (!integration) throw notFound('integration_not_found', `No integration "${integrationId}".`);
  return integration;
}

/** The integration, if the API may change it: one the config file declares answers 409. */
async function loadManaged(deps: Deps, integrationId: string): Promise<Integration> {
  const integration = await loadIntegration(deps, integrationId);
  if (integration.source === 'file')
    throw conflict(
      'managed_by_file',
      `Integration "${integration.id}" is declared in ${deps.catalog.fileName}: change it there (it is read-only through the API).`,
    );
  return integration;
}

export async function createIntegration(deps: Deps, input: CreateIntegrationInput, actor: string): Promise<Integration> {
  await deps.catalog.refresh();
  assertHonourable(deps.catalog, { ...input, id: input.id ?? 'new' });
  // The id is claimed by the insert itself; losing a race to another request means the next suffix.
  for (let attempt = 0; attempt < 20; attempt++) {
    await deps.catalog.refreshIntegrations();
    const id = uniqueSlug(input.id ?? slugify(input.name, 'integration'), (candidate) => deps.catalog.integrations.has(candidate));
    const created = await deps.catalog.change(async (trx) => {
      const saved = await deps.catalog.saveIntegration({ ...input, id }, 'api', { db: trx, insert: true });
      if (saved)
        await writeAudit(trx, {
          actor,
          action: 'integration.created',
          targetType: 'integration',
          targetId: id,
          details: { after: integrationDeclarationOf(saved) },
        });
      return saved;
    });
    if (created) return created;
  }
  throw new HttpError(409, 'id_unavailable', 'Could not find a free id for this name; try another name.');
}

export async function updateIntegration(deps: Deps, integrationId: string, patch: UpdateIntegrationInput, actor: string): Promise<Integration> {
  const current = integrationDeclarationOf(await loadManaged(deps, integrationId));
  await deps.catalog.refresh();
  const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  const next = parseInput(integrationDeclarationSchema, { ...current, ...defined });
  assertHonourable(deps.catalog, next);
  return deps.catalog.change(async (trx) => {
    const saved = (await deps.catalog.saveIntegration(next, 'api', { db: trx }))!;
    await writeAudit(trx, {
      actor,
      action: 'integration.updated',
      targetType: 'integration',
      targetId: integrationId,
      details: { changes: changedFields(current, next) },
    });
    return saved;
  });
}

export type DeletedIntegration = z.output<typeof deletedIntegrationSchema>;

/**
 * Deletes an integration made through the API. Its installs are tenants' working setups: with any
 * left, only an explicit `force` deletes them (soft, as one install's delete does) along with it,
 * and its open sessions are cancelled, all in one transaction.
 */
export async function deleteIntegration(
  deps: Deps & Pick<AppContext, 'activeInstalls'>,
  integrationId: string,
  force: boolean,
  actor: string,
): Promise<DeletedIntegration> {
  const integration = await loadManaged(deps, integrationId);
  // Its installs go with it: the tenant actions' cache forgets every one it holds.
  return deps.activeInstalls.forgetAfter(integration.id, undefined, () => deleteWithInstalls(deps, integration, force, actor));
}

async function deleteWithInstalls(deps: Deps, integration: Integration, force: boolean, actor: string): Promise<DeletedIntegration> {
  return deps.catalog.change(async (trx) => {
    const { count } = await trx
      .selectFrom('installs')
      .select((eb) => eb.fn.countAll<string | number>().as('count'))
      .where('integration_id', '=', integration.id)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    const installs = Number(count);
    if (installs > 0 && !force)
      throw conflict(
        'integration_in_use',
        `Integration "${integration.id}" has ${installs} install${installs === 1 ? '' : 's'}; delete with ?force=true to delete ${installs === 1 ? 'it' : 'them'} too.`,
      );
    const now = isoNow();
    await trx
      .updateTable('installs')
      .set({ deleted_at: now, updated_at: now })
      .where('integration_id', '=', integration.id)
      .where('deleted_at', 'is', null)
      .execute();
    const cancelled = await trx
      .updateTable('sessions')
      .set({
        status: 'cancelled',
        error_code: 'integration_deleted',
        error_message: 'The integration was deleted.',
        pkce_verifier_ciphertext: null,
        updated_at: now,
      })
      .where('integration_id', '=', integration.id)
      .where('status', 'in', OPEN_SESSION_STATUSES)
      .executeTakeFirst();
    const sessions = Number(cancelled.numUpdatedRows);
    await trx.deleteFrom('integrations').where('id', '=', integration.id).execute();
    await writeAudit(trx, {
      actor,
      action: 'integration.deleted',
      targetType: 'integration',
      targetId: integration.id,
      details: { before: integrationDeclarationOf(integration), installs, sessions, force },
    });
    return { deleted: { integration: integration.id, installs, sessions } };
  });
}

/** Integrations ordered by id, which is also the cursor: stable across instances and creates. */
export async function listIntegrations(
  deps: Deps,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ data: Integration[]; next: string | null }> {
  await deps.catalog.refreshIntegrations();
  const after = [...deps.catalog.integrations.values()]
    .filter((integration) => query.cursor === undefined || integration.id > query.cursor)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const page = after.slice(0, query.limit);
  return { data: page, next: after.length > query.limit ? page[page.length - 1]!.id : null };
}
