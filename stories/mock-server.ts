/**
 * Storybook's stand-in for the Patchbay server, in the browser: the session endpoints of
 * docs/flow.md answered by a fetch interceptor, and a `window.open` that returns a pretend popup.
 * The preview installs it, so `npm run storybook` needs no server. It is a demo layer only: tests
 * run against the loopback stand-in (packages/widget/web-test-runner.config.mjs) or the real
 * server, and no shipped bundle imports this file.
 *
 * Stories steer it with the session token they hand an element: `mockSessionToken({ outcome })`
 * makes a session whose pretend popup ends the way the story needs. The integration's name steers
 * the picker's catalog, as in the loopback stand-in: `empty`, `broken`, `loading` or `apps-for-acme`
 * (the full one). Any other integration has one connector, Slack, in the tenant state the token
 * asks for (`mockSessionToken({ tenant: 'expiring' })`; not connected by default). Disconnecting
 * (DELETE …/connections/{id}) removes the connection from that session's view.
 *
 * `<partner-onboarding>` talks to the partner portal of docs/partners.md instead: a story makes a
 * pretend server with `mockPartnerPortal({ … })` and hands the element its `server` and a `link`.
 */

import type { SessionConnector, TenantConnection } from '../packages/widget/src/internal/api-client.js';
import type { PartnerEnvironment, PortalGrant, PortalState, PortalWorkspace } from '../packages/widget/src/internal/partner-portal-client.js';

/** How the pretend popup ends: the user signs in, declines at the provider, the provider fails, or nothing yet. */
export type MockOutcome = 'authorized' | 'cancelled' | 'failed' | 'pending';

/** The tenant's state a session starts with (docs/flow.md, section 5), or `expired` (410 session_expired). */
export type MockTenant = 'not_connected' | 'connected' | 'expiring' | 'needs_reauth' | 'expired';

interface MockSession {
  outcome: MockOutcome;
  tenant: MockTenant;
  /** This session's connectors view, once read (a disconnect changes it). */
  connectors: MockConnector[] | null;
  /** How long the pretend user takes in the popup. */
  delayMs: number;
  /** The popup looks closed to the opener at once, as a provider's Cross-Origin-Opener-Policy makes it. */
  looksClosed: boolean;
  status: 'created' | 'started' | 'authorized' | 'cancelled' | 'failed' | 'committed';
  cancelledByUser?: boolean;
  installId: string | null;
}

/** The catalog entries the picker reads, in the widget's own type. */
export type MockConnector = SessionConnector;

/** Integrations with a special catalog; any other name answers one connector in the session's tenant state. */
export const CATALOG = { empty: 'empty', broken: 'broken', loading: 'loading', full: 'apps-for-acme' } as const;

/** One connector per state the picker shows: Connect, + Add connection (Connected), Reconnect (Needs re-auth). */
export const mockCatalog: MockConnector[] = [
  { slug: 'slack', name: 'Slack', description: 'Messages and channels', domain: 'slack.com', state: 'not_connected', connections: [] },
  {
    slug: 'github',
    name: 'GitHub',
    description: 'Repositories and issues',
    domain: 'github.com',
    state: 'connected',
    connections: [{ id: 'con_GitHubWorkAccount00000', label: 'Work', status: 'active', connectedAt: '2026-10-14T09:30:00.000Z', expiresAt: null }],
  },
  {
    slug: 'salesforce',
    name: 'Salesforce',
    description: 'Accounts, leads and opportunities',
    domain: 'salesforce.com',
    state: 'needs_reauth',
    connections: [{ id: 'con_SalesforceOld000000000', label: null, status: 'needs_reauth', connectedAt: '2026-03-02T16:05:00.000Z', expiresAt: null }],
  },
  { slug: 'cafe-pos', name: 'Café POS', description: 'Point of sale for cafés', domain: 'cafe-pos.example', state: 'not_connected', connections: [] },
  { slug: 'hubspot', name: 'HubSpot', description: 'Contacts and deals', domain: 'hubspot.com', state: 'not_connected', connections: [] },
  { slug: 'notion', name: 'Notion', description: 'Pages and databases', domain: 'notion.so', state: 'not_connected', connections: [] },
].map((connector) => ({ iconUrl: null, methods: ['oauth2'], ...connector }) as MockConnector);

const sessions = new Map<string, MockSession>();
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SESSION_PATH = /^\/v1\/integrations\/([^/]+)\/session\/(ses_[0-9A-Za-z]{22})(\/commit|\/connectors|\/start|\/cancel)?$/;
const CONNECTION_PATH = /^\/v1\/integrations\/([^/]+)\/session\/(ses_[0-9A-Za-z]{22})\/connections\/(con_[0-9A-Za-z]{22})$/;
const INSTALL_PATH = /^\/v1\/integrations\/([^/]+)\/install\/(ins_[0-9A-Za-z]+)$/;

function randomBase62(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => BASE62[byte % 62]).join('');
}

/** A session token in the real format (`ses_…_secret_…`) for a pretend session that ends with `outcome`. */
export function mockSessionToken({
  outcome = 'authorized',
  delayMs = 900,
  looksClosed = false,
  tenant = 'not_connected',
}: { outcome?: MockOutcome; delayMs?: number; looksClosed?: boolean; tenant?: MockTenant } = {}): string {
  const id = `ses_${randomBase62(22)}`;
  sessions.set(id, { outcome, delayMs, looksClosed, tenant, connectors: null, status: 'created', installId: null });
  return `${id}_secret_${randomBase62(22)}`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/** One connector, Slack, with one connection in the tenant's state. */
function tenantView(tenant: MockTenant): MockConnector[] {
  const status: TenantConnection['status'] | null = tenant === 'connected' ? 'active' : tenant === 'expiring' || tenant === 'needs_reauth' ? tenant : null;
  const connections: TenantConnection[] = status
    ? [
        {
          id: 'con_SlackAcmeWorkspace0000',
          label: 'acme.slack.com',
          status,
          connectedAt: '2026-09-21T08:15:00.000Z',
          expiresAt: status === 'expiring' ? new Date(Date.now() + 3 * 86_400_000).toISOString() : null,
        },
      ]
    : [];
  const state = tenant === 'expired' ? 'not_connected' : tenant;
  return [{ slug: 'slack', name: 'Slack', description: 'Messages and channels', domain: 'slack.com', iconUrl: null, methods: ['oauth2'], state, connections }];
}

/** The session's view, made on first read so a disconnect can change it. */
function connectorsOf(session: MockSession, integration: string): MockConnector[] {
  if (integration === CATALOG.empty) return [];
  session.connectors ??= integration === CATALOG.full ? structuredClone(mockCatalog) : tenantView(session.tenant);
  return session.connectors;
}

/** Removes a connection from the session's view; the connector's state follows from what is left. */
function disconnect(session: MockSession, integration: string, connectionId: string): boolean {
  const connector = connectorsOf(session, integration).find((candidate) => candidate.connections.some((c) => c.id === connectionId));
  if (!connector) return false;
  connector.connections = connector.connections.filter((c) => c.id !== connectionId);
  const order = ['needs_reauth', 'expiring', 'active'] as const;
  const worst = order.find((status) => connector.connections.some((c) => c.status === status));
  connector.state = worst === 'active' ? 'connected' : (worst ?? 'not_connected');
  return true;
}

/** Resolves after `ms`, or rejects as fetch does when the caller aborts. */
function wait(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = ms === Infinity ? undefined : setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('The operation was aborted.', 'AbortError'));
    });
  });
}

async function answer(url: URL, init: RequestInit | undefined): Promise<Response | null> {
  const method = (init?.method ?? 'GET').toUpperCase();
  const authorization = new Headers(init?.headers).get('authorization') ?? '';
  const install = INSTALL_PATH.exec(url.pathname);
  if (install)
    return json(200, {
      id: install[2],
      integrationId: install[1],
      tenantId: 'tenant-1',
      tags: {},
      operationState: { status: 'success' },
      createdAt: new Date().toISOString(),
    });
  const removal = CONNECTION_PATH.exec(url.pathname);
  if (removal && method === 'DELETE') {
    const [, integration = '', id = '', connectionId = ''] = removal;
    const session = sessions.get(id);
    if (!session || !authorization.startsWith(`Bearer ${id}_secret_`))
      return json(401, errorBody('invalid_credentials', 'The credentials are missing or not valid.'));
    await wait(300, init?.signal);
    if (!disconnect(session, integration, connectionId)) return json(404, errorBody('connection_not_found', 'This tenant has no such connection here.'));
    return json(200, { data: connectorsOf(session, integration), next: null });
  }
  const match = SESSION_PATH.exec(url.pathname);
  if (!match) return null;
  const [, integration = '', id = '', tail] = match;
  const session = sessions.get(id);
  if (!session || !authorization.startsWith(`Bearer ${id}_secret_`))
    return json(401, errorBody('invalid_credentials', 'The credentials are missing or not valid.'));
  await wait(120, init?.signal);
  if (tail === '/connectors') {
    if (integration === CATALOG.loading) await wait(Infinity, init?.signal);
    if (integration === CATALOG.broken) return json(503, errorBody('unavailable', 'The catalog is resting.'));
    if (session.tenant === 'expired') return json(410, errorBody('session_expired', 'The session has expired; start a new one.'));
    return json(200, { data: connectorsOf(session, integration), next: null });
  }
  if (tail === '/cancel' && method === 'POST') {
    if (session.status !== 'created' && session.status !== 'started' && session.status !== 'cancelled')
      return json(409, errorBody('session_not_cancellable', 'The sign-in has already finished for this session.'));
    session.cancelledByUser ||= session.status !== 'cancelled';
    session.status = 'cancelled';
  }
  if (tail === '/commit' && method === 'POST') {
    if (session.status !== 'authorized' && session.status !== 'committed')
      return json(409, errorBody('session_not_authorized', 'The session is not authorized yet.'));
    session.status = 'committed';
    session.installId ??= `ins_${id.slice(4)}`;
    return json(200, { targetUrl: `${url.origin}/v1/integrations/${integration}/install/${session.installId}` });
  }
  return json(200, {
    id,
    integrationId: integration,
    tenantId: 'tenant-1',
    status: session.status,
    installId: session.installId,
    expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    error:
      session.status === 'failed'
        ? { code: 'provider_error', message: 'The provider said no.' }
        : session.status === 'cancelled'
          ? session.cancelledByUser
            ? { code: 'user_cancelled', message: 'The person cancelled the sign-in in the app.' }
            : { code: 'access_denied', message: 'The sign-in was cancelled.' }
          : null,
  });
}

/** What the widget gets from `window.open`: enough of a Window for the flow (closed, close, focus). */
class MockPopup {
  closed = false;
  close(): void {
    this.closed = true;
  }
  focus(): void {}
}

/**
 * Plays the user in the popup: after the session's delay, the session ends as its outcome says and
 * the "done page" nudges the opener, as the real one does with postMessage.
 */
function playPopup(url: URL): MockPopup {
  const popup = new MockPopup();
  const id = SESSION_PATH.exec(url.pathname)?.[2];
  const session = id ? sessions.get(id) : undefined;
  // Loading the start URL starts the session, as the real server does.
  if (session && (session.status === 'created' || session.status === 'cancelled' || session.status === 'failed')) session.status = 'started';
  if (session?.looksClosed) popup.closed = true;
  if (id && session && session.outcome !== 'pending') {
    setTimeout(() => {
      if (session.status !== 'started') return;
      session.status = session.outcome as MockSession['status'];
      window.postMessage({ source: 'patchbay', type: 'patchbay:session', sessionId: id, status: session.status }, window.location.origin);
      popup.close();
    }, session.delayMs);
  }
  return popup;
}

/* ------------------------------------------------------------------------------------------------
 * The partner portal (docs/partners.md §2), for <partner-onboarding>.
 *
 * Each story makes its own pretend server with `mockPartnerPortal()`: its own partner, links and
 * portal sessions, at its own path on this origin (`/mock-patchbay/<id>`), which the story passes
 * to the element as `server`. The "portal cookie" is kept per pretend server, as the real cookie is
 * path-scoped, so stories shown together on a docs page do not share a session.
 * --------------------------------------------------------------------------------------------- */

/** A grant as the server sends it: the widget's fields plus the per-environment breakdown. */
export type MockGrant = PortalGrant & { environments: Array<{ environment: PartnerEnvironment | '*'; send: boolean; receive: boolean }> };

/** How a link stands on the pretend server; `unknown` is a well-formed code it never issued. */
export type MockLinkState = 'unused' | 'used' | 'expired' | 'revoked' | 'unknown';

export interface MockPortalOptions {
  workspace?: Partial<PortalWorkspace>;
  partner?: Partial<PortalState['partner']>;
  /** The host's invitation sentence (`metadata.invitation`); `''` lets the component say its own. */
  invitation?: string;
  /** Environments with a live key; `previousValidForHours` when a rotation's old key still works. */
  keys?: Array<{ environment: PartnerEnvironment; previousValidForHours?: number }>;
  grants?: MockGrant[];
  subscriptions?: PortalState['subscriptions'];
  /** A returning partner: the portal session cookie of an earlier redemption is still there. */
  signedIn?: boolean;
  /**
   * The page is a host's site the server lists in `partnerEmbedOrigins`: the redemption answers with
   * a session token (sent back as a bearer token) instead of setting the cookie.
   */
  embedded?: boolean;
  /** How many requests fail as a dropped network does (fetch rejects) before the server answers. */
  unreachableFor?: number;
  /** How long each answer takes; `Infinity` never answers (the loading screen). */
  latencyMs?: number;
}

export interface MockPartnerPortal {
  /** The pretend server's URL, for the element's `server`. */
  server: string;
  /** A partner link (`{server}/partner#code=pbl_…`) in the given state, for the element's `link`. */
  link(state?: MockLinkState): string;
}

interface LiveKey {
  prefix: string;
  createdAt: string;
  previousExpiresAt: string | null;
}

interface PortalServer {
  workspace: PortalWorkspace;
  partner: PortalState['partner'];
  invitation: string;
  keys: Map<PartnerEnvironment, LiveKey>;
  grants: MockGrant[];
  subscriptions: PortalState['subscriptions'];
  links: Map<string, Exclude<MockLinkState, 'unknown'>>;
  /** Portal session tokens and when each ends. */
  sessions: Map<string, string>;
  /** The browser's `patchbay_portal` cookie for this server's portal path. */
  cookie: string | null;
  embedded: boolean;
  unreachableFor: number;
  latencyMs: number;
}

const PORTAL_SERVERS = '/mock-patchbay/';
const PORTAL_PATH = /^\/mock-patchbay\/(srv_[0-9A-Za-z]{12})\/v1\/partner-portal(\/.*)?$/;
const SESSION_MINUTES = 30;
const portalServers = new Map<string, PortalServer>();

/** The grants of the examples in docs/partners.md: one pattern to receive, topics to send, one both ways. */
export const mockGrants: MockGrant[] = [
  { topic: 'app/order/*', send: false, receive: true, environments: [{ environment: '*', send: false, receive: true }] },
  { topic: 'app/shipment/created', send: true, receive: false, environments: [{ environment: '*', send: true, receive: false }] },
  {
    topic: 'app/shipment/updated',
    send: true,
    receive: true,
    environments: [
      { environment: 'dev', send: true, receive: true },
      { environment: 'prod', send: true, receive: false },
    ],
  },
];

/** A secret in the server's format: prefix, 22 base62 random characters and 6 of checksum (not a real CRC here). */
const mockSecret = (prefix: 'pbl_' | 'pbp_') => `${prefix}${randomBase62(28)}`;
const isoIn = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/** A pretend Patchbay server with one invited partner, for one `<partner-onboarding>`. */
export function mockPartnerPortal(options: MockPortalOptions = {}): MockPartnerPortal {
  const id = `srv_${randomBase62(12)}`;
  const server: PortalServer = {
    workspace: { name: 'Acme Logistics', color: '#0f766e', iconUrl: null, ...options.workspace },
    partner: {
      id: `ptn_${randomBase62(22)}`,
      appName: 'Shipfast',
      appDescription: 'Shipping labels for online shops',
      contact: '',
      status: options.signedIn ? 'active' : 'invited',
      ...options.partner,
    },
    invitation: options.invitation ?? 'Publish your shipment updates to Acme Logistics and receive its new orders.',
    keys: new Map(
      (options.keys ?? []).map(({ environment, previousValidForHours }) => [
        environment,
        {
          prefix: mockSecret('pbp_').slice(0, 10),
          createdAt: isoIn(-14 * 86_400),
          previousExpiresAt: previousValidForHours ? isoIn(previousValidForHours * 3600) : null,
        },
      ]),
    ),
    grants: options.grants ?? mockGrants,
    subscriptions: options.subscriptions ?? { publish: [], consume: [] },
    links: new Map(),
    sessions: new Map(),
    cookie: null,
    embedded: options.embedded ?? false,
    unreachableFor: options.unreachableFor ?? 0,
    latencyMs: options.latencyMs ?? 150,
  };
  if (options.signedIn) server.cookie = openSession(server);
  portalServers.set(id, server);
  const url = `${window.location.origin}${PORTAL_SERVERS}${id}`;
  return {
    server: url,
    link(state = 'unused') {
      const code = mockSecret('pbl_');
      if (state !== 'unknown') server.links.set(code, state);
      return `${url}/partner#code=${code}`;
    },
  };
}

function openSession(server: PortalServer): string {
  const token = randomBase62(43);
  server.sessions.set(token, isoIn(SESSION_MINUTES * 60));
  return token;
}

/** The state object every portal answer carries (docs/partners.md, "The portal state"). */
function portalStateOf(server: PortalServer, sessionExpiresAt: string) {
  return {
    workspace: server.workspace,
    partner: server.partner,
    invitation: server.invitation,
    keys: (['dev', 'stage', 'prod'] as const).flatMap((environment) => {
      const key = server.keys.get(environment);
      return key
        ? [{ environment, ...key, previousExpiresAt: key.previousExpiresAt && key.previousExpiresAt > new Date().toISOString() ? key.previousExpiresAt : null }]
        : [];
    }),
    grants: server.grants,
    subscriptions: server.subscriptions,
    apiBaseUrl: 'https://patchbay.acme-logistics.example',
    sessionExpiresAt,
  } satisfies PortalState;
}

const invalid = (message: string) => json(400, errorBody('invalid_request', message));
const TOPIC_PATTERN = /^([a-z0-9][a-z0-9_.-]{0,62}|\*)(\/([a-z0-9][a-z0-9_.-]{0,62}|\*)){1,7}$/;
const covers = (pattern: string, topic: string) => {
  const wide = pattern.split('/');
  const narrow = topic.split('/');
  return wide.length === narrow.length && wide.every((segment, index) => segment === '*' || segment === narrow[index]);
};

/** zod's email pattern, which the server's `contact` check uses. */
const EMAIL = /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;

/** The server's checks of `PATCH /partner` (partnerDetailsSchema in schema.ts), with its messages. */
function detailsProblem(body: Record<string, unknown>): string | null {
  const unknown = Object.keys(body).filter((key) => !['appName', 'appDescription', 'contact'].includes(key));
  if (unknown.length > 0) return `Unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`;
  if (typeof body.appName !== 'string') return 'appName: Invalid input: expected string, received undefined';
  if (body.appName.trim().length < 1) return 'appName: Too small: expected string to have >=1 characters';
  if (body.appName.trim().length > 100) return 'appName: Too big: expected string to have <=100 characters';
  if (typeof body.appDescription === 'string' && body.appDescription.trim().length > 500)
    return 'appDescription: Too big: expected string to have <=500 characters';
  if (typeof body.contact !== 'string') return 'contact: Invalid input: expected string, received undefined';
  if (!EMAIL.test(body.contact)) return 'contact: Invalid email address';
  if (body.contact.length > 254) return 'contact: Too big: expected string to have <=254 characters';
  return null;
}

/** Answers one portal request as packages/server/src/partners/routes.ts does. */
async function answerPortal(server: PortalServer, path: string, init: RequestInit | undefined): Promise<Response> {
  if (server.unreachableFor > 0) {
    server.unreachableFor -= 1;
    throw new TypeError('Failed to fetch');
  }
  await wait(server.latencyMs, init?.signal);
  const method = (init?.method ?? 'GET').toUpperCase();
  const headers = new Headers(init?.headers);
  if (method !== 'GET' && method !== 'HEAD' && headers.get('x-patchbay-portal') !== '1')
    return json(403, errorBody('csrf_check_failed', 'This request did not come from the partner portal.'));
  let body: Record<string, unknown>;
  try {
    body = typeof init?.body === 'string' && init.body ? (JSON.parse(init.body) as Record<string, unknown>) : {};
  } catch {
    return json(400, errorBody('invalid_json', 'The request body is not valid JSON.'));
  }
  const noStore = { 'cache-control': 'no-store' };

  if (path === '/redeem' && method === 'POST') {
    if (typeof body.code !== 'string' || body.code.length < 1 || body.code.length > 64)
      return invalid('code: Invalid input: expected string, received undefined');
    // One answer for unknown, expired, used and revoked links.
    if (server.links.get(body.code) !== 'unused' || server.partner.status === 'suspended')
      return json(404, errorBody('link_invalid', 'This link cannot be used. Ask the workspace for a new one.'));
    server.links.set(body.code, 'used');
    if (server.partner.status === 'invited') server.partner = { ...server.partner, status: 'active' };
    const token = openSession(server);
    const expiresAt = server.sessions.get(token)!;
    if (server.embedded) return json(200, { data: portalStateOf(server, expiresAt), session: { token, expiresAt } }, noStore);
    server.cookie = token;
    return json(200, { data: portalStateOf(server, expiresAt) }, noStore);
  }

  const route =
    path === '' || path === '/'
      ? 'state'
      : path === '/partner'
        ? 'partner'
        : path === '/subscriptions'
          ? 'subscriptions'
          : /^\/keys\/[^/]+(\/rotate)?$/.test(path)
            ? 'keys'
            : null;
  const known =
    (route === 'state' && method === 'GET') ||
    (route === 'partner' && method === 'PATCH') ||
    (route === 'keys' && method === 'POST') ||
    (route === 'subscriptions' && method === 'PUT');
  if (!known) return json(404, errorBody('route_not_found', 'No such route.'));

  // A bearer token, when sent, is the only credential looked at; else the cookie.
  const token = /^Bearer (\S+)$/.exec(headers.get('authorization') ?? '')?.[1] ?? server.cookie;
  const sessionExpiresAt = token ? server.sessions.get(token) : undefined;
  if (!sessionExpiresAt || sessionExpiresAt <= new Date().toISOString() || server.partner.status === 'suspended') {
    return json(401, errorBody('portal_session_expired', 'Your portal session has ended. Ask the workspace for a new link.'));
  }
  const state = () => portalStateOf(server, sessionExpiresAt);

  if (route === 'state') return json(200, { data: state() }, noStore);
  if (route === 'partner') {
    const problem = detailsProblem(body);
    if (problem) return invalid(problem);
    server.partner = {
      ...server.partner,
      appName: String(body.appName).trim(),
      appDescription: String(body.appDescription ?? '').trim(),
      contact: String(body.contact),
    };
    return json(200, { data: state() });
  }
  if (route === 'keys') {
    const [, environment = '', rotate] = /^\/keys\/([^/]+)(\/rotate)?$/.exec(path)!;
    if (environment !== 'dev' && environment !== 'stage' && environment !== 'prod') return invalid('Invalid option: expected one of "dev"|"stage"|"prod"');
    const graceSeconds = body.graceSeconds ?? 86_400;
    if (rotate && (typeof graceSeconds !== 'number' || !Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 604_800))
      return invalid('graceSeconds: Too big: expected number to be <=604800');
    const current = server.keys.get(environment);
    if (!rotate && current) return json(409, errorBody('key_exists', `There is a ${environment} key already; rotate it instead.`));
    if (rotate && !current) return json(409, errorBody('no_key', `There is no ${environment} key to rotate yet.`));
    const key = mockSecret('pbp_');
    server.keys.set(environment, {
      prefix: key.slice(0, 10),
      createdAt: new Date().toISOString(),
      previousExpiresAt: rotate ? isoIn(graceSeconds as number) : null,
    });
    return json(201, { data: { key, state: state() } }, noStore);
  }
  const subscriptions = { publish: body.publish, consume: body.consume };
  for (const direction of ['publish', 'consume'] as const) {
    const topics = subscriptions[direction];
    if (!Array.isArray(topics) || topics.length > 100) return invalid(`${direction}: Invalid input: expected array`);
    for (const topic of topics) {
      if (typeof topic !== 'string' || !TOPIC_PATTERN.test(topic)) return invalid(`${direction}: a topic or pattern like app/order/*`);
      if (!server.grants.some((grant) => (direction === 'publish' ? grant.send : grant.receive) && covers(grant.topic, topic))) {
        return json(400, errorBody('topic_not_granted', `${direction}: ${topic} is not granted to this partner.`));
      }
    }
  }
  server.subscriptions = subscriptions as PortalState['subscriptions'];
  return json(200, { data: state() });
}

let installed = false;

/** Installs the interceptor and the popup stand-in in this window (Storybook's preview iframe). */
export function installMockServer(): void {
  if (installed) return;
  installed = true;
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input), window.location.href);
    const portal = url.origin === window.location.origin ? PORTAL_PATH.exec(url.pathname) : null;
    if (portal) {
      const server = portalServers.get(portal[1]!);
      if (server) return answerPortal(server, portal[2] ?? '', init);
      return json(404, errorBody('route_not_found', 'No such route.'));
    }
    // Only this origin's Patchbay paths: Storybook's own requests go through untouched.
    if (url.origin === window.location.origin && url.pathname.startsWith('/v1/integrations/')) {
      const response = await answer(url, input instanceof Request ? { method: input.method, headers: input.headers, signal: input.signal, ...init } : init);
      if (response) return response;
      return json(404, errorBody('not_found', 'The Storybook mock server does not know this path.'));
    }
    return realFetch(input, init);
  };
  const realOpen = window.open.bind(window);
  window.open = (target?: string | URL, name?: string, features?: string) => {
    const url = target === undefined ? null : new URL(String(target), window.location.href);
    if (url && url.origin === window.location.origin && /\/session\/ses_[0-9A-Za-z]{22}\/start$/.test(url.pathname)) return playPopup(url) as unknown as Window;
    return realOpen(target, name, features);
  };
}
