/** The pretend data the mock handlers answer with, typed by the contract. */
import type { ConnectorState, SessionConnectorView, TenantConnectionView } from '@patchbay/contract';

/** Integrations with a special catalog; any other name answers one connector in the session's tenant state. */
export const CATALOG = { full: 'catalog', slow: 'slow', loading: 'loading', empty: 'empty', broken: 'broken', methods: 'methods' } as const;

const connector = (fields: Omit<SessionConnectorView, 'iconUrl' | 'methods'>): SessionConnectorView => ({ iconUrl: null, methods: ['oauth2'], ...fields });

/** One connector per state the picker shows: Connect, + Add connection (Connected), Reconnect (Needs re-auth); enough to search and scroll. */
export const mockCatalog: SessionConnectorView[] = [
  connector({ slug: 'slack', name: 'Slack', description: 'Messages and channels', domain: 'slack.com', state: 'not_connected', connections: [] }),
  connector({
    slug: 'github',
    name: 'GitHub',
    description: 'Repositories and issues',
    domain: 'github.com',
    state: 'connected',
    connections: [
      { id: 'con_GitHubWorkAccount00000', label: 'Work', status: 'active', reason: null, connectedAt: '2026-10-14T09:30:00.000Z', expiresAt: null },
    ],
  }),
  connector({
    slug: 'salesforce',
    name: 'Salesforce',
    description: 'Accounts, leads and opportunities',
    domain: 'salesforce.com',
    state: 'needs_reauth',
    connections: [
      {
        id: 'con_SalesforceOld000000000',
        label: null,
        status: 'needs_reauth',
        reason: 'invalid_grant',
        connectedAt: '2026-03-02T16:05:00.000Z',
        expiresAt: null,
      },
    ],
  }),
  connector({
    slug: 'cafe-pos',
    name: 'Café POS',
    description: 'Point of sale for cafés',
    domain: 'cafe-pos.example',
    state: 'not_connected',
    connections: [],
  }),
  connector({ slug: 'hubspot', name: 'HubSpot', description: 'Contacts and deals', domain: 'hubspot.com', state: 'not_connected', connections: [] }),
  connector({ slug: 'notion', name: 'Notion', description: 'Pages and databases', domain: 'notion.so', state: 'not_connected', connections: [] }),
];

/**
 * Connectors that offer several auth methods, in the server's order (the default first): Zendesk
 * takes an API key (its default), OAuth or a password; Slack takes OAuth only.
 */
export const methodsCatalog: SessionConnectorView[] = [
  {
    ...connector({ slug: 'zendesk', name: 'Zendesk', description: 'Tickets and customers', domain: 'zendesk.com', state: 'not_connected', connections: [] }),
    methods: ['apiKey', 'oauth2', 'basic'],
  },
  connector({ slug: 'slack', name: 'Slack', description: 'Messages and channels', domain: 'slack.com', state: 'not_connected', connections: [] }),
];

/** The one connection a tenant holds in any other integration, when connected. */
export const TENANT_CONNECTION_ID = 'con_StandInDemoCloud00000';
const DAY_MS = 86_400_000;

/**
 * The tenant's state a session is steered to (docs/flow.md, section 5), plus `busy` (connected, but
 * disconnecting answers 409 connection_in_use) and `expired` (410 session_expired).
 */
export type MockTenant = ConnectorState | 'busy' | 'expired';

/** One connector, "Demo Cloud", with one connection in the tenant's state. */
export function tenantConnectors(tenant: MockTenant): SessionConnectorView[] {
  const state: ConnectorState = tenant === 'busy' ? 'connected' : tenant === 'expired' ? 'not_connected' : tenant;
  const status = ({ connected: 'active', expiring: 'expiring', needs_reauth: 'needs_reauth' } as const)[state as Exclude<ConnectorState, 'not_connected'>];
  const connections: TenantConnectionView[] = status
    ? [
        {
          id: TENANT_CONNECTION_ID,
          label: 'ada@example.com',
          status,
          reason: status === 'needs_reauth' ? 'invalid_grant' : null,
          connectedAt: '2026-11-02T10:00:00.000Z',
          expiresAt: state === 'expiring' ? new Date(Date.now() + 3 * DAY_MS).toISOString() : null,
        },
      ]
    : [];
  return [connector({ slug: 'demo-cloud', name: 'Demo Cloud', description: 'A pretend service', domain: 'localhost', state, connections })];
}

/** A connector's state follows from its worst connection. */
export function stateOf(connections: TenantConnectionView[]): ConnectorState {
  const worst = (['needs_reauth', 'expiring', 'active'] as const).find((status) => connections.some((c) => c.status === status));
  return worst === 'active' ? 'connected' : (worst ?? 'not_connected');
}
