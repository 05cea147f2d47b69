/**
 * The server's table of contents: every route, in the order Express tries them, with its path and
 * the named function that answers it, grouped by the file that holds it. Look an endpoint up here
 * first. `mountRoutes` below wires exactly these (each resource's router at its prefix), and
 * test/routes.test.ts checks that what Express serves is this list, line for line.
 */
import path from 'node:path';
import express, { type Express } from 'express';
import { PACKAGE_ROOT } from './package-root.js';
import { auditRoutes } from './audit/routes.js';
import type { OAuthClients } from './connections/oauth.js';
import { proxyRoutes } from './connections/proxy.js';
import { connectionRoutes } from './connections/routes.js';
import type { CredentialBroker } from './connections/broker.js';
import { connectorRoutes } from './connectors/routes.js';
import type { AppContext } from './context.js';
import { eventRoutes } from './events/routes.js';
import { healthRoutes } from './health/routes.js';
import { jsonBody } from './http/body.js';
import { integrationOrigins } from './http/cors.js';
import { installRoutes } from './installs/routes.js';
import { freshIntegration, integrationRoutes, tenantActionRoutes } from './integrations/routes.js';
import { keyRoutes } from './keys/routes.js';
import { metricsRoutes } from './metrics/routes.js';
import { openApiRoutes } from './openapi/routes.js';
import { partnerPageRoutes } from './pages/partner.js';
import { type WidgetBundle, widgetRoutes } from './pages/widget.js';
import { externalPartnerRoutes, partnerPortalRoutes, partnerRoutes } from './partners/routes.js';
import { oauthCallbackRoutes, sessionRoutes } from './sessions/routes.js';
import type { RouteLine } from './http/route-table.js';
import { webhookRoutes } from './webhooks/routes.js';

export type { RouteLine } from './http/route-table.js';

const INTEGRATION = '/v1/integrations/:integrationId';
const SESSION = `${INTEGRATION}/session/:sessionId`;

export const ROUTES: readonly RouteLine[] = [
  // The hot paths first, ahead of routers they would otherwise pass through one by one.
  // connections/proxy.ts: the proxy, in a router of its own (its plain form is answered before
  // Express even routes: `proxyLane`)
  ['*', '/v1/connections/:connectionId/proxy/{*rest}', 'proxyHandler'],
  // health/routes.ts: no credential
  ['GET', '/healthz', 'healthHandler'],
  ['GET', '/readyz', 'readyHandler'],
  // integrations/routes.ts: a tenant's declared actions (the integration API's CORS rule and body
  // parser; the integration as read within the connection cache window, `recentIntegration`)
  ['POST', `${INTEGRATION}/api/tenant/:tenantId/:action`, 'invokeActionHandler'],
  // connections/routes.ts
  ['GET', '/v1/connections', 'listConnectionsHandler'],
  ['GET', '/v1/connections/:connectionId', 'readConnectionHandler'],
  ['GET', '/v1/connections/:connectionId/requests', 'connectionRequestsHandler'],
  ['DELETE', '/v1/connections/:connectionId', 'revokeConnectionHandler'],
  // events/routes.ts: access keys by scope, partner keys by topic grants
  ['POST', '/v1/events', 'publishEventHandler'],
  ['GET', '/v1/events', 'pollEventsHandler'],
  ['GET', '/v1/events/stream', 'streamEventsHandler'],

  // metrics/routes.ts: a metrics:read key (or a listener of its own, `metricsListen`)
  ['GET', '/metrics', 'metricsHandler'],
  // openapi/routes.ts: the OpenAPI document and its reference page, public
  ['GET', '/openapi.json', 'openApiHandler'],
  ['GET', '/docs', 'docsPageHandler'],
  ['GET', '/docs/redoc.standalone.js', 'docsBundleHandler'],

  // Files, not routes: /static/* (public/) and /widget/* (the widget bundle, when built). In demo mode
  // the demo's own routers (demo/) answer /demo/* here as well.

  // pages/partner.ts: the partner's embedded page
  ['GET', '/partner', 'partnerPageHandler'],
  // sessions/routes.ts: the provider's redirect back (errors answered as a page)
  ['GET', '/oauth/callback', 'handleWithErrorPage'],

  // The integration API: CORS and allowedOrigins per integration (http/cors.ts), JSON bodies.
  // sessions/routes.ts: the widget's flow (a sessions:write key creates; the session token follows)
  ['POST', `${INTEGRATION}/session`, 'createSessionHandler'],
  ['GET', SESSION, 'readSessionHandler'],
  ['GET', `${SESSION}/connectors`, 'sessionConnectorsHandler'],
  ['DELETE', `${SESSION}/connections/:connectionId`, 'disconnectConnectionHandler'],
  ['GET', `${SESSION}/start`, 'handleWithErrorPage'],
  ['POST', `${SESSION}/config`, 'handleWithErrorPage'],
  ['POST', `${SESSION}/credentials`, 'handleWithErrorPage'],
  ['POST', `${SESSION}/cancel`, 'cancelSessionHandler'],
  ['POST', `${SESSION}/commit`, 'commitSessionHandler'],
  // installs/routes.ts
  ['GET', `${INTEGRATION}/install`, 'searchInstallsHandler'],
  ['GET', `${INTEGRATION}/install/:installId`, 'readInstallHandler'],
  ['DELETE', `${INTEGRATION}/install/:installId`, 'deleteInstallHandler'],
  // integrations/routes.ts
  ['GET', '/v1/integrations', 'listIntegrationsHandler'],
  ['POST', '/v1/integrations', 'createIntegrationHandler'],
  ['GET', INTEGRATION, 'readIntegrationHandler'],
  ['PATCH', INTEGRATION, 'updateIntegrationHandler'],
  ['DELETE', INTEGRATION, 'deleteIntegrationHandler'],

  // connectors/routes.ts
  ['GET', '/v1/connectors', 'listConnectorsHandler'],
  ['POST', '/v1/connectors', 'createConnectorHandler'],
  ['GET', '/v1/connectors/:slug', 'readConnectorHandler'],
  ['PATCH', '/v1/connectors/:slug', 'updateConnectorHandler'],
  ['DELETE', '/v1/connectors/:slug', 'deleteConnectorHandler'],
  ['POST', '/v1/connectors/:slug/actions/:action/test', 'testActionHandler'],

  // partners/routes.ts: EnSync's shape, the operator side, then the partner's own portal
  ['POST', '/api/v1/external/partner', 'createPartnerHandler'],
  ['GET', '/v1/partners', 'listPartnersHandler'],
  ['GET', '/v1/partners/:partnerId', 'readPartnerHandler'],
  ['PATCH', '/v1/partners/:partnerId', 'updatePartnerHandler'],
  ['POST', '/v1/partners/:partnerId/links', 'issueLinkHandler'],
  ['POST', '/v1/partners/:partnerId/links/revoke', 'revokeLinksHandler'],
  ['POST', '/v1/partners/:partnerId/suspend', 'suspendPartnerHandler'],
  ['POST', '/v1/partners/:partnerId/reinstate', 'reinstatePartnerHandler'],
  ['POST', '/v1/partners/:partnerId/grants', 'grantTopicHandler'],
  ['DELETE', '/v1/partners/:partnerId/grants/:grantId', 'revokeGrantHandler'],
  ['POST', '/v1/partner-portal/redeem', 'redeemLinkHandler'],
  ['GET', '/v1/partner-portal', 'portalStateHandler'],
  ['PATCH', '/v1/partner-portal/partner', 'updateDetailsHandler'],
  ['POST', '/v1/partner-portal/keys/:environment', 'createKeyHandler'],
  ['POST', '/v1/partner-portal/keys/:environment/rotate', 'rotateKeyHandler'],
  ['PUT', '/v1/partner-portal/subscriptions', 'subscriptionsHandler'],

  // keys/routes.ts: admin keys, then any key
  ['POST', '/v1/keys', 'createKeyHandler'],
  ['GET', '/v1/keys', 'listKeysHandler'],
  ['GET', '/v1/keys/:keyId', 'readKeyHandler'],
  ['PATCH', '/v1/keys/:keyId', 'updateKeyHandler'],
  ['POST', '/v1/keys/:keyId/inactivate', 'inactivateKeyHandler'],
  ['POST', '/v1/keys/:keyId/reactivate', 'reactivateKeyHandler'],
  ['POST', '/v1/keys/:keyId/roll', 'rollKeyHandler'],
  ['GET', '/v1/auth-events', 'listAuthEventsHandler'],
  ['POST', '/v1/tokens', 'issueTokenHandler'],
  ['GET', '/v1/whoami', 'whoamiHandler'],
  // audit/routes.ts: admin keys
  ['GET', '/v1/audit', 'listAuditHandler'],
  // webhooks/routes.ts: webhooks:read and webhooks:write keys
  ['POST', '/v1/webhooks', 'createWebhookHandler'],
  ['GET', '/v1/webhooks', 'listWebhooksHandler'],
  ['GET', '/v1/webhooks/:webhookId', 'readWebhookHandler'],
  ['PATCH', '/v1/webhooks/:webhookId', 'updateWebhookHandler'],
  ['DELETE', '/v1/webhooks/:webhookId', 'deleteWebhookHandler'],
  ['POST', '/v1/webhooks/:webhookId/rotate-secret', 'rotateWebhookSecretHandler'],
  ['GET', '/v1/webhooks/:webhookId/deliveries', 'listDeliveriesHandler'],
  ['POST', '/v1/webhooks/:webhookId/deliveries/:deliveryId/retry', 'retryDeliveryHandler'],
];

export interface ServerParts {
  oauth: OAuthClients;
  broker: CredentialBroker;
  widget: WidgetBundle | null;
  /** Demo-mode routes (provider, third-party API, host page), mounted before the API. */
  demo?: express.Router;
}

const publicDir = path.join(PACKAGE_ROOT, 'public');

/** Mounts every router of `ROUTES`, in its order. */
export function mountRoutes(app: Express, ctx: AppContext, parts: ServerParts): void {
  // The hot paths (see ROUTES).
  app.use('/v1/connections', proxyRoutes(ctx, parts.broker));
  app.use(healthRoutes(ctx));
  app.use(`${INTEGRATION}/api/tenant`, tenantActionRoutes(ctx, parts.broker));
  app.use('/v1/connections', connectionRoutes(ctx, parts.broker));
  app.use('/v1/events', eventRoutes(ctx, ctx.events));
  app.use(metricsRoutes(ctx));
  app.use(openApiRoutes(ctx, ROUTES));

  app.use('/static', express.static(publicDir, { index: false, maxAge: '1h' }));
  if (parts.widget) app.use('/widget', widgetRoutes(parts.widget));
  if (parts.demo) app.use('/demo', parts.demo);

  app.use(partnerPageRoutes(ctx.config));
  app.use(oauthCallbackRoutes(ctx, parts.oauth));

  const integrationApi = express.Router({ mergeParams: true });
  integrationApi.use(freshIntegration(ctx));
  integrationApi.use(integrationOrigins(ctx));
  integrationApi.use(jsonBody({ limit: '256kb' }));
  integrationApi.use(sessionRoutes(ctx, parts.oauth, parts.broker));
  integrationApi.use(installRoutes(ctx));
  app.use(INTEGRATION, integrationApi);
  app.use('/v1/integrations', integrationRoutes(ctx));

  app.use('/v1/connectors', connectorRoutes(ctx, parts.broker));
  app.use(externalPartnerRoutes(ctx));
  app.use('/v1/partners', partnerRoutes(ctx));
  app.use('/v1/partner-portal', partnerPortalRoutes(ctx));

  app.use('/v1', keyRoutes(ctx));
  app.use('/v1/audit', auditRoutes(ctx));
  app.use('/v1/webhooks', webhookRoutes(ctx));
}
