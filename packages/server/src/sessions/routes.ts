import type { CommitAnswer, ConnectorsAnswer } from '@patchbay/contract';
import { auditActorOf } from '../audit/actor.js';
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import { MAX_CREDENTIAL_LENGTH } from '../connectors/auth-methods.js';
import type { AppContext } from '../context.js';
import type { OAuthClients } from '../connections/oauth.js';
import type { CredentialBroker } from '../connections/broker.js';
import { assertTenantAllowed, authenticate, principalOf, refuse } from '../http/auth.js';
import { HttpError, toHttpError } from '../http/errors.js';
import { parseInput } from '../http/validation.js';
import { sendConfigurationPage, sendCredentialsPage, sendDonePage, sendErrorPage, sendMethodChoicePage } from '../pages/flow.js';
import { cancelSession } from './cancel.js';
import { callbackQuerySchema, connectionIdSchema, createSessionSchema, sessionIdSchema, startQuerySchema } from './schema.js';
import { credentialForm, submitCredentials } from './credential-form.js';
import { completeAuthorization } from './oauth-step.js';
import { commitSession, createSession, getSession, integrationBaseUrl, requireIntegration, saveConfiguration } from './service.js';
import { startSession } from './start.js';
import type { CallbackOutcome } from './view.js';
import { disconnectConnection, sessionConnectors } from './tenant-connections.js';

type Params = { integrationId: string; sessionId: string };

/** A session token reaches only its own session; another one is refused, and recorded as such. */
function assertOwnSession(ctx: AppContext, req: Request, res: Response, params: Params): void {
  const principal = principalOf(res);
  if (principal.kind === 'session' && (principal.sessionId !== params.sessionId || principal.integrationId !== params.integrationId)) {
    throw refuse(ctx, req, res, 'session_forbidden');
  }
}

/**
 * A session-token or access-key route's session: a session token reaches only its own; an access
 * key reaches only the tenants it is allowed. Answers the validated session id.
 */
async function sessionOfRequest(ctx: AppContext, req: Request, res: Response): Promise<string> {
  const params = { integrationId: String(req.params.integrationId), sessionId: String(req.params.sessionId) };
  assertOwnSession(ctx, req, res, params);
  const sessionId = parseInput(sessionIdSchema, params.sessionId);
  if (principalOf(res).kind === 'key') assertTenantAllowed(ctx, req, res, (await getSession(ctx, params.integrationId, sessionId)).tenantId);
  return sessionId;
}

/** The integration's configuration form (again, with the error and the values typed, when `retry`). */
function sendConfiguration(
  ctx: AppContext,
  res: Response,
  integrationId: string,
  actionUrl: string,
  retry?: { error: string; values: Record<string, string> },
) {
  const integration = requireIntegration(ctx, integrationId);
  sendConfigurationPage(res, { actionUrl, integrationName: integration.name, fields: integration.configFields, ...retry });
}

/** A posted form's text fields (anything else, such as repeated names, is dropped). */
function textFields(body: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries((body ?? {}) as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Browser-facing routes answer with a page, not JSON, when something goes wrong. */
function pageErrors(handler: (req: Request, res: Response) => Promise<void>) {
  return async function handleWithErrorPage(req: Request, res: Response, _next: NextFunction) {
    try {
      await handler(req, res);
    } catch (error) {
      const httpError = toHttpError(error);
      sendErrorPage(res, httpError.status, { code: httpError.code, message: httpError.expose ? httpError.message : 'The sign-in could not be completed.' });
    }
  };
}

/**
 * Reads the credential form. A body over the limits (a pasted file, thousands of fields) is
 * marked instead of failing, so the person gets the form back with a message, not a dead end.
 */
function readCredentialForm(): RequestHandler {
  const parse = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 32 });
  return function readCredentialFormBody(req, res, next) {
    parse(req, res, (error?: unknown) => {
      if (error !== undefined && toHttpError(error).status === 413) {
        res.locals.credentialFormTooLarge = true;
        req.body = {};
        next();
        return;
      }
      next(error);
    });
  };
}

export function sessionRoutes(ctx: AppContext, oauth: OAuthClients, broker: CredentialBroker): Router {
  const router = Router({ mergeParams: true });

  router.post('/session', authenticate(ctx, { scope: 'sessions:write' }), async function createSessionHandler(req, res) {
    const input = parseInput(createSessionSchema, req.body ?? {});
    assertTenantAllowed(ctx, req, res, input.tenantId);
    res.status(200).json(await createSession(ctx, String(req.params.integrationId), input, auditActorOf(res)));
  });

  router.get('/session/:sessionId', authenticate(ctx, { scope: 'sessions:write', sessionToken: true }), async function readSessionHandler(req, res) {
    const params = { integrationId: String(req.params.integrationId), sessionId: String(req.params.sessionId) };
    assertOwnSession(ctx, req, res, params);
    const session = await getSession(ctx, params.integrationId, parseInput(sessionIdSchema, params.sessionId));
    assertTenantAllowed(ctx, req, res, session.tenantId);
    res.json(session);
  });

  router.get(
    '/session/:sessionId/connectors',
    authenticate(ctx, { scope: 'sessions:write', sessionToken: true }),
    async function sessionConnectorsHandler(req, res) {
      const sessionId = await sessionOfRequest(ctx, req, res);
      res.json({ data: await sessionConnectors(ctx, String(req.params.integrationId), sessionId), next: null } satisfies ConnectorsAnswer);
    },
  );

  /** The tenant disconnects one of its connections (the widget's Disconnect); answers the updated connectors view. */
  router.delete(
    '/session/:sessionId/connections/:connectionId',
    authenticate(ctx, { scope: 'sessions:write', sessionToken: true }),
    async function disconnectConnectionHandler(req, res) {
      const sessionId = await sessionOfRequest(ctx, req, res);
      const connectionId = parseInput(connectionIdSchema, req.params.connectionId);
      const connectors = await disconnectConnection(ctx, String(req.params.integrationId), sessionId, connectionId, auditActorOf(res));
      broker.forget(connectionId);
      res.json({ data: connectors, next: null } satisfies ConnectorsAnswer);
    },
  );

  router.get(
    '/session/:sessionId/start',
    pageErrors(async function startSessionHandler(req, res) {
      const query = parseInput(startQuerySchema, req.query);
      const sessionId = parseInput(sessionIdSchema, req.params.sessionId);
      const started = await startSession(ctx, oauth, ctx.customAuthMethods, String(req.params.integrationId), sessionId, query);
      if (started.kind === 'redirect') {
        res.set('cache-control', 'no-store').redirect(303, started.url.toString());
        return;
      }
      if (started.kind === 'configure') {
        sendConfiguration(ctx, res, started.session.integrationId, `${req.baseUrl}/session/${sessionId}/config`);
        return;
      }
      if (started.kind === 'choose') {
        // The choice leads back here with the same query and the method set.
        const hidden = Object.fromEntries(
          Object.entries({ mode: query.mode, origin: query.origin, connector: started.connector.slug, reauth: query.reauth }).filter(
            (entry): entry is [string, string] => entry[1] !== undefined,
          ),
        );
        sendMethodChoicePage(res, { actionUrl: `${req.baseUrl}/session/${sessionId}/start`, hidden, connector: started.connector, methods: started.methods });
        return;
      }
      sendCredentialsPage(res, {
        actionUrl: `${req.baseUrl}/session/${sessionId}/credentials`,
        connector: started.connector,
        method: started.method,
        fields: started.fields,
      });
    }),
  );

  router.post(
    '/session/:sessionId/config',
    express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 64 }),
    pageErrors(async function saveConfigurationHandler(req, res) {
      const integrationId = String(req.params.integrationId);
      const sessionId = parseInput(sessionIdSchema, req.params.sessionId);
      const values = textFields(req.body);
      let outcome: CallbackOutcome;
      try {
        outcome = await saveConfiguration(ctx, integrationId, sessionId, values);
      } catch (error) {
        if (error instanceof HttpError && error.code === 'invalid_config') {
          sendConfiguration(ctx, res, integrationId, req.originalUrl, { error: error.message, values });
          return;
        }
        throw error;
      }
      sendDonePage(res, outcome);
    }),
  );

  router.post(
    '/session/:sessionId/credentials',
    readCredentialForm(),
    pageErrors(async function submitCredentialsHandler(req, res) {
      const sessionId = parseInput(sessionIdSchema, req.params.sessionId);
      if (res.locals.credentialFormTooLarge === true) {
        const { connector, method, fields } = await credentialForm(ctx, ctx.customAuthMethods, String(req.params.integrationId), sessionId);
        sendCredentialsPage(res, {
          actionUrl: req.originalUrl,
          connector,
          method,
          fields,
          error: `A value is too long (at most ${MAX_CREDENTIAL_LENGTH} characters each).`,
        });
        return;
      }
      const values = textFields(req.body);
      const outcome = await submitCredentials(ctx, broker, ctx.customAuthMethods, String(req.params.integrationId), sessionId, values);
      if ('formError' in outcome) {
        sendCredentialsPage(res, {
          actionUrl: req.originalUrl,
          connector: outcome.connector,
          method: outcome.method,
          fields: outcome.fields,
          error: outcome.formError,
          values,
        });
        return;
      }
      if (outcome.needsConfiguration) {
        sendConfiguration(ctx, res, outcome.session.integrationId, `${req.baseUrl}/session/${sessionId}/config`);
        return;
      }
      sendDonePage(res, outcome);
    }),
  );

  router.post('/session/:sessionId/cancel', authenticate(ctx, { scope: 'sessions:write', sessionToken: true }), async function cancelSessionHandler(req, res) {
    const sessionId = await sessionOfRequest(ctx, req, res);
    res.status(200).json(await cancelSession(ctx, String(req.params.integrationId), sessionId, auditActorOf(res)));
  });

  router.post('/session/:sessionId/commit', authenticate(ctx, { scope: 'installs:write', sessionToken: true }), async function commitSessionHandler(req, res) {
    const sessionId = await sessionOfRequest(ctx, req, res);
    const { targetUrl } = await commitSession(ctx, String(req.params.integrationId), sessionId, auditActorOf(res));
    res.status(200).json({ targetUrl } satisfies CommitAnswer);
  });

  return router;
}

/** The provider redirects here; `state` is the only credential and it is one-time. */
export function oauthCallbackRoutes(ctx: AppContext, oauth: OAuthClients): Router {
  const router = Router();
  router.get(
    '/oauth/callback',
    pageErrors(async function oauthCallbackHandler(req, res) {
      const query = parseInput(callbackQuerySchema, req.query, 'invalid_callback');
      const currentUrl = new URL(req.originalUrl, ctx.config.publicUrl);
      const outcome = await completeAuthorization(ctx, oauth, currentUrl, query);
      if (outcome.needsConfiguration) {
        const { integrationId, id } = outcome.session;
        sendConfiguration(ctx, res, integrationId, `${new URL(integrationBaseUrl(ctx, integrationId)).pathname}/session/${id}/config`);
        return;
      }
      sendDonePage(res, outcome);
    }),
  );
  return router;
}
