/**
 * The partner portal (docs/partners.md §2) as msw handlers on the wire contract, for
 * `<partner-onboarding>`. Each pretend server (`mockPortalServer()`) has its own partner, links and
 * portal sessions at its own path on this origin (`/mock-patchbay/<id>`), so stories shown together on
 * a docs page do not share a session; its "portal cookie" is kept with it, as the real cookie is
 * path-scoped. Requests are checked with the server's own schemas and answered in its words.
 */
import {
  ENVIRONMENTS,
  environmentSchema,
  partnerDetailsSchema,
  patternCovers,
  problemOf,
  randomBase62,
  redeemSchema,
  rotateKeySchema,
  subscriptionsSchema,
  type PartnerEnvironment,
  type PortalAnswer,
  type PortalGrant,
  type PortalKeyAnswer,
  type PortalState,
} from '@patchbay/contract';
import { delay, http, HttpResponse, type HttpHandler } from 'msw';
import type { z } from 'zod';
import { errorAnswer } from './sessions.js';

/** How a link stands on the pretend server; `unknown` is a well-formed code it never issued. */
export type MockLinkState = 'unused' | 'used' | 'expired' | 'revoked' | 'unknown';

export interface MockPortalOptions {
  workspace?: Partial<PortalState['workspace']>;
  partner?: Partial<PortalState['partner']>;
  /** The partner's colour, icon and owner from its metadata; `icon: 'broken'` is a URL that fails to load. */
  partnerBranding?: Partial<Omit<PortalState['partnerBranding'], 'icon'>> & { icon?: string | null | 'broken' };
  /** The host's invitation sentence (`metadata.invitation`); `''` lets the component say its own. */
  invitation?: string;
  /** Environments with a live key; `previousValidForHours` when a rotation's old key still works. */
  keys?: Array<{ environment: PartnerEnvironment; previousValidForHours?: number }>;
  grants?: PortalGrant[];
  subscriptions?: PortalState['subscriptions'];
  /** A returning partner: the portal session cookie of an earlier redemption is still there. */
  signedIn?: boolean;
  /** The page is a host's site the server lists: the redemption answers with a session token instead of the cookie. */
  embedded?: boolean;
  /** How many requests fail as a dropped network does (fetch rejects) before the server answers. */
  unreachableFor?: number;
  /** How long each answer takes; `Infinity` never answers (the loading screen). */
  latencyMs?: number;
}

export interface MockPortal {
  /** The pretend server's URL, for the element's `server`. */
  server: string;
  /** A partner link (`{server}/partner#code=pbl_…`) in the given state, for the element's `link`. */
  link(state?: MockLinkState): string;
}

interface PortalServer {
  state: Omit<PortalState, 'keys' | 'sessionExpiresAt'>;
  keys: Map<PartnerEnvironment, Omit<PortalState['keys'][number], 'environment'>>;
  links: Map<string, Exclude<MockLinkState, 'unknown'>>;
  /** Portal session tokens and when each ends. */
  sessions: Map<string, string>;
  cookie: string | null;
  embedded: boolean;
  unreachableFor: number;
  latencyMs: number;
}

/** The grants of the examples in docs/partners.md: one pattern to receive, topics to send, one both ways. */
export const mockGrants: PortalGrant[] = [
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

const servers = new Map<string, PortalServer>();
const SESSION_MINUTES = 30;
const isoIn = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
/** A secret in the server's format: prefix and 28 base62 characters (no real checksum here). */
const mockSecret = (prefix: 'pbl_' | 'pbp_') => `${prefix}${randomBase62(28)}`;

function openSession(server: PortalServer): string {
  const token = randomBase62(43);
  server.sessions.set(token, isoIn(SESSION_MINUTES * 60));
  return token;
}

/** A pretend Patchbay server with one invited partner, for one `<partner-onboarding>` at `origin`. */
export function mockPortalServer(origin: string, options: MockPortalOptions = {}): MockPortal {
  const id = `srv_${randomBase62(12)}`;
  const server: PortalServer = {
    state: {
      workspace: { name: 'Acme Logistics', color: '#0f766e', iconUrl: null, ...options.workspace },
      partner: {
        id: `ptn_${randomBase62(22)}`,
        appName: 'Shipfast',
        appDescription: 'Shipping labels for online shops',
        contact: '',
        status: options.signedIn ? 'active' : 'invited',
        ...options.partner,
      },
      partnerBranding: {
        color: '#c2410c',
        owner: 'ops@shipfast.example',
        ...options.partnerBranding,
        icon: iconUrl(origin, options.partnerBranding?.icon),
      },
      invitation: options.invitation ?? 'Publish your shipment updates to Acme Logistics and receive its new orders.',
      grants: options.grants ?? mockGrants,
      subscriptions: options.subscriptions ?? { publish: [], consume: [] },
      apiBaseUrl: 'https://patchbay.acme-logistics.example',
    },
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
    links: new Map(),
    sessions: new Map(),
    cookie: null,
    embedded: options.embedded ?? false,
    unreachableFor: options.unreachableFor ?? 0,
    latencyMs: options.latencyMs ?? 150,
  };
  if (options.signedIn) server.cookie = openSession(server);
  servers.set(id, server);
  const url = `${origin}/mock-patchbay/${id}`;
  return {
    server: url,
    link(state = 'unused') {
      const code = mockSecret('pbl_');
      if (state !== 'unknown') server.links.set(code, state);
      return `${url}/partner#code=${code}`;
    },
  };
}

/** The pretend partner's icon (an SVG these handlers serve), one that fails to load, or a URL as given. */
export const MOCK_PARTNER_ICON_PATH = '/mock-patchbay/partner-icon.svg';
function iconUrl(origin: string, icon: string | null | undefined): string | null {
  if (icon === undefined) return `${origin}${MOCK_PARTNER_ICON_PATH}`;
  return icon === 'broken' ? `${origin}/mock-patchbay/missing-icon.svg` : icon;
}

/** A parcel on an orange tile: Shipfast's logo in the stories and tests. */
const PARTNER_ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#c2410c"/><path d="M16 24l16-8 16 8v18l-16 8-16-8z" fill="#fff7ed"/><path d="M16 24l16 8 16-8M32 32v18" fill="none" stroke="#c2410c" stroke-width="3" stroke-linejoin="round"/></svg>';

/** The state object every portal answer carries (docs/partners.md, "The portal state"). */
function stateOf(server: PortalServer, sessionExpiresAt: string): PortalState {
  const now = new Date().toISOString();
  const keys = ENVIRONMENTS.flatMap((environment) => {
    const key = server.keys.get(environment);
    return key ? [{ environment, ...key, previousExpiresAt: key.previousExpiresAt && key.previousExpiresAt > now ? key.previousExpiresAt : null }] : [];
  });
  return { ...server.state, keys, sessionExpiresAt };
}

const invalid = (error: z.ZodError) => errorAnswer(400, 'invalid_request', problemOf(error));
const noStore = { headers: { 'cache-control': 'no-store' } };
const PORTAL = '*/mock-patchbay/:serverId/v1/partner-portal';

type Answer = (args: { server: PortalServer; request: Request; body: unknown; params: Record<string, string> }) => Response | Promise<Response>;

/** A portal route: the pretend server's network and latency, the CSRF header on writes, then a JSON body. */
function portalRoute(answer: Answer) {
  return async ({ request, params }: { request: Request; params: Record<string, string | readonly string[] | undefined> }) => {
    const server = servers.get(String(params.serverId));
    if (!server) return errorAnswer(404, 'route_not_found', 'No such route.');
    if (server.unreachableFor > 0) {
      server.unreachableFor -= 1;
      return HttpResponse.error();
    }
    await delay(server.latencyMs === Infinity ? 'infinite' : server.latencyMs);
    if (request.method !== 'GET' && request.headers.get('x-patchbay-portal') !== '1')
      return errorAnswer(403, 'csrf_check_failed', 'This request did not come from the partner portal.');
    let body: unknown;
    try {
      const text = await request.text();
      body = text ? JSON.parse(text) : {};
    } catch {
      return errorAnswer(400, 'invalid_json', 'The request body is not valid JSON.');
    }
    return answer({ server, request, body, params: params as Record<string, string> });
  };
}

/** A route behind the portal session: a bearer token when sent (embedded), else the pretend cookie. */
function signedIn(answer: (args: Parameters<Answer>[0] & { state: () => PortalState }) => Response | Promise<Response>): Answer {
  return (args) => {
    const { server, request } = args;
    const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1] ?? server.cookie;
    const expiresAt = token ? server.sessions.get(token) : undefined;
    if (!expiresAt || expiresAt <= new Date().toISOString() || server.state.partner.status === 'suspended')
      return errorAnswer(401, 'portal_session_expired', 'Your portal session has ended. Ask the workspace for a new link.');
    return answer({ ...args, state: () => stateOf(server, expiresAt) });
  };
}

/** Creating or rotating a key, as the server checks it. */
function issueKey(rotate: boolean): Answer {
  return signedIn(({ server, body, params, state }) => {
    const environment = environmentSchema.safeParse(params.environment);
    if (!environment.success) return invalid(environment.error);
    const grace = rotateKeySchema.safeParse(body);
    if (rotate && !grace.success) return invalid(grace.error);
    const current = server.keys.get(environment.data);
    if (!rotate && current) return errorAnswer(409, 'key_exists', `There is a ${environment.data} key already; rotate it instead.`);
    if (rotate && !current) return errorAnswer(409, 'no_key', `There is no ${environment.data} key to rotate yet.`);
    const key = mockSecret('pbp_');
    const graceSeconds = grace.success ? grace.data.graceSeconds : 0;
    server.keys.set(environment.data, {
      prefix: key.slice(0, 10),
      createdAt: new Date().toISOString(),
      previousExpiresAt: rotate ? isoIn(graceSeconds) : null,
    });
    return HttpResponse.json<PortalKeyAnswer>({ data: { key, state: state() } }, { status: 201, ...noStore });
  });
}

export const portalHandlers: HttpHandler[] = [
  http.get(`*${MOCK_PARTNER_ICON_PATH}`, () => new HttpResponse(PARTNER_ICON_SVG, { headers: { 'content-type': 'image/svg+xml' } })),
  http.post(
    `${PORTAL}/redeem`,
    portalRoute(({ server, body }) => {
      const input = redeemSchema.safeParse(body);
      if (!input.success) return invalid(input.error);
      // One answer for unknown, expired, used and revoked links.
      if (server.links.get(input.data.code) !== 'unused' || server.state.partner.status === 'suspended')
        return errorAnswer(404, 'link_invalid', 'This link cannot be used. Ask the workspace for a new one.');
      server.links.set(input.data.code, 'used');
      if (server.state.partner.status === 'invited') server.state.partner = { ...server.state.partner, status: 'active' };
      const token = openSession(server);
      const expiresAt = server.sessions.get(token)!;
      if (server.embedded) return HttpResponse.json<PortalAnswer>({ data: stateOf(server, expiresAt), session: { token, expiresAt } }, noStore);
      server.cookie = token;
      return HttpResponse.json<PortalAnswer>({ data: stateOf(server, expiresAt) }, noStore);
    }),
  ),
  http.get(PORTAL, portalRoute(signedIn(({ state }) => HttpResponse.json<PortalAnswer>({ data: state() }, noStore)))),
  http.patch(
    `${PORTAL}/partner`,
    portalRoute(
      signedIn(({ server, body, state }) => {
        const details = partnerDetailsSchema.safeParse(body);
        if (!details.success) return invalid(details.error);
        server.state.partner = { ...server.state.partner, ...details.data };
        return HttpResponse.json<PortalAnswer>({ data: state() });
      }),
    ),
  ),
  http.post(`${PORTAL}/keys/:environment`, portalRoute(issueKey(false))),
  http.post(`${PORTAL}/keys/:environment/rotate`, portalRoute(issueKey(true))),
  http.put(
    `${PORTAL}/subscriptions`,
    portalRoute(
      signedIn(({ server, body, state }) => {
        const input = subscriptionsSchema.safeParse(body);
        if (!input.success) return invalid(input.error);
        for (const direction of ['publish', 'consume'] as const) {
          for (const topic of input.data[direction]) {
            if (!server.state.grants.some((grant) => (direction === 'publish' ? grant.send : grant.receive) && patternCovers(grant.topic, topic)))
              return errorAnswer(400, 'topic_not_granted', `${direction}: ${topic} is not granted to this partner.`);
          }
        }
        server.state.subscriptions = input.data;
        return HttpResponse.json<PortalAnswer>({ data: state() });
      }),
    ),
  ),
  http.all(`${PORTAL}/*`, () => errorAnswer(404, 'route_not_found', 'No such route.')),
];

/** The pretend servers the tests made, by id, for their links. */
const steered = new Map<string, MockPortal>();

/**
 * How component tests steer the portal mocks over HTTP (packages/widget/src/test-support/stand-in.ts):
 * POST /__stand-in/portal makes a pretend server (the body: MockPortalOptions; no latency unless
 * asked) and answers `{id, server}`; POST /__stand-in/portal/{id}/link/{state} answers `{link}`;
 * POST /__stand-in/portal/{id}/logout ends the portal session (the real cookie is httpOnly: only
 * the server can); GET /__stand-in/portal/{id} answers the portal state as the server holds it.
 */
export const portalSteeringHandlers: HttpHandler[] = [
  http.post('*/__stand-in/portal', async ({ request }) => {
    const text = await request.text();
    const portal = mockPortalServer(new URL(request.url).origin, { latencyMs: 0, ...(text ? (JSON.parse(text) as MockPortalOptions) : {}) });
    const id = portal.server.split('/').pop()!;
    steered.set(id, portal);
    return HttpResponse.json({ id, server: portal.server });
  }),
  http.post('*/__stand-in/portal/:serverId/link/:state', ({ params }) => {
    const portal = steered.get(String(params.serverId));
    return portal ? HttpResponse.json({ link: portal.link(String(params.state) as MockLinkState) }) : errorAnswer(404, 'route_not_found', 'No such server.');
  }),
  http.post('*/__stand-in/portal/:serverId/logout', ({ params }) => {
    const server = servers.get(String(params.serverId));
    if (server) server.cookie = null;
    return HttpResponse.json({ ok: Boolean(server) });
  }),
  http.get('*/__stand-in/portal/:serverId', ({ params }) => {
    const server = servers.get(String(params.serverId));
    return server ? HttpResponse.json(stateOf(server, new Date().toISOString())) : errorAnswer(404, 'route_not_found', 'No such server.');
  }),
];
