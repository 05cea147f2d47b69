import type { Declarations } from '../declarations.js';
import { DEMO_CATALOG_INTEGRATION, DEMO_INTEGRATION } from './host.js';

export const DEMO_CLIENT_ID = 'patchbay-demo';

/** The connector and integration the demo runs on, pointing at the in-process demo provider and API. */
export function demoDeclarations(publicUrl: string, clientSecret: string): Declarations {
  return {
    connectors: [
      {
        slug: 'demo-cloud',
        name: 'Demo Cloud',
        description: 'A pretend third-party service, served by this server in demo mode.',
        domain: 'localhost',
        baseUrl: `${publicUrl}/demo/api`,
        visibility: 'shared',
        authMethods: [
          {
            type: 'oauth2',
            issuer: `${publicUrl}/demo/oidc`,
            clientId: DEMO_CLIENT_ID,
            clientSecret,
            scopes: ['openid', 'profile', 'demo.read'],
            authorizeParams: {},
          },
        ],
        actions: { me: { method: 'GET', path: '/me', query: {} } },
      },
      {
        slug: 'demo-keys',
        name: 'Demo Keys',
        description: 'A pretend service that takes an API key (type demo-key-1234).',
        domain: 'localhost',
        baseUrl: `${publicUrl}/demo/api/keyed`,
        visibility: 'shared',
        authMethods: [{ type: 'apiKey', in: 'header', name: 'X-API-Key' }],
        actions: { me: { method: 'GET', path: '/me', query: {} } },
        verifyAction: 'me',
      },
    ],
    integrations: [
      {
        id: DEMO_INTEGRATION,
        name: 'Demo Cloud',
        description: 'Lets Acme CRM call Demo Cloud for a tenant.',
        connectors: ['demo-cloud'],
        allowedOrigins: [new URL(publicUrl).origin],
        configFields: [],
        actions: { test: { connector: 'demo-cloud', method: 'GET', path: '/me', forwardBody: false } },
      },
      {
        id: DEMO_CATALOG_INTEGRATION,
        name: 'Apps for Acme',
        description: 'Every demo app, offered through <connector-picker>.',
        connectors: ['demo-cloud', 'demo-keys'],
        allowedOrigins: [new URL(publicUrl).origin],
        configFields: [],
        actions: {},
      },
    ],
  };
}
