import type { AppContext } from '../context.js';
import type { Connector, PublicAuthMethod } from '../connectors/catalog.js';
import { type Credentials, credentialsFromForm, type CustomAuthMethods, formFieldsFor, type FormField } from '../connectors/auth-methods.js';
import { callUpstream } from '../connectors/upstream.js';
import type { CredentialBroker } from '../connections/broker.js';
import { conflict, HttpError, notFound } from '../http/errors.js';
import { finishSignIn } from './connection.js';
import { readSession, requireIntegration } from './service.js';
import { assertNotExpired } from './state.js';
import { type CallbackOutcome, outcomeOf } from './view.js';

/** The form a started session shows (its connector, method and fields); refused once the session has moved on. */
export async function credentialForm(deps: Pick<AppContext, 'store' | 'catalog'>, customs: CustomAuthMethods, integrationId: string, sessionId: string) {
  const row = await readSession(deps, integrationId, sessionId);
  assertNotExpired(row);
  if (row.status !== 'started' || !row.connector_id || !row.auth_method || row.auth_method === 'oauth2') {
    throw conflict('session_not_started', 'Open this form from the app again.');
  }
  const connector = deps.catalog.connectors.get(row.connector_id);
  const method = connector?.authMethods.find((candidate) => candidate.type === row.auth_method);
  if (!connector || !method) throw notFound('connector_not_found', 'The connector is no longer available.');
  return { row, connector, method, fields: formFieldsFor(method, customs) ?? [] };
}

/**
 * The credential form (basic, bearer, API key, custom, none). When the connector declares a verify
 * action, the credentials must pass it before anything is saved.
 */
export async function submitCredentials(
  ctx: AppContext,
  broker: CredentialBroker,
  customs: CustomAuthMethods,
  integrationId: string,
  sessionId: string,
  values: Record<string, string>,
): Promise<CallbackOutcome | { formError: string; connector: Connector; method: PublicAuthMethod; fields: FormField[] }> {
  const integration = requireIntegration(ctx, integrationId);
  const { row, connector, method, fields } = await credentialForm(ctx, customs, integrationId, sessionId);
  const parsed = credentialsFromForm(method, values, customs);
  if ('error' in parsed) return { formError: parsed.error, connector, method, fields };

  if (connector.verifyAction) {
    const verified = await verifyCredentials(ctx, broker, customs, connector, parsed.credentials);
    if (!verified.ok) return { formError: verified.message, connector, method, fields };
  }
  return outcomeOf(await finishSignIn(ctx, row, integration, connector.slug, parsed.credentials));
}

/**
 * Runs the connector's verify action with credentials that are not stored yet. They stay in memory
 * for the call: nothing is written, so a wrong key never appears as a connection, not even briefly.
 */
async function verifyCredentials(
  ctx: AppContext,
  broker: CredentialBroker,
  customs: CustomAuthMethods,
  connector: Connector,
  credentials: Credentials,
): Promise<{ ok: true } | { ok: false; message: string }> {
  const action = connector.actions[connector.verifyAction!]!;
  try {
    const response = await callUpstream(ctx, broker, customs, { connector, credentials, method: action.method, path: action.path, query: action.query });
    if (response.status >= 200 && response.status < 300) return { ok: true };
    return {
      ok: false,
      message:
        response.status === 401 || response.status === 403
          ? `${connector.name} did not accept these credentials.`
          : `${connector.name} answered ${response.status}; check the credentials and try again.`,
    };
  } catch (error) {
    if (error instanceof HttpError && error.expose) return { ok: false, message: error.message };
    throw error;
  }
}
