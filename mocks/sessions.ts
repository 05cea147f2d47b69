/**
 * The session endpoints of docs/flow.md as msw handlers on the wire contract: session, connectors,
 * disconnect, cancel, commit and the install. Storybook runs them in msw's browser worker; the
 * component tests' dev server runs the same handlers in Node (mocks/koa.ts). The integration's name
 * steers the catalog (fixtures.ts, CATALOG); the session's record steers the rest: stories set it
 * when they make a token, tests through the `/__stand-in/…` steering handlers at the end.
 */
import {
  SESSION_ID,
  type ApiError,
  type CommitAnswer,
  type ConnectorsAnswer,
  type ErrorEnvelope,
  type InstallView,
  type SessionConnectorView,
  type SessionView,
} from '@patchbay/contract';
import { delay, http, HttpResponse, type HttpHandler } from 'msw';
import { CATALOG, methodsCatalog, mockCatalog, type MockTenant, stateOf, TENANT_CONNECTION_ID, tenantConnectors } from './fixtures.js';

/** What the mocks hold for one session, and what the tests read back. */
export interface MockSession {
  status: SessionView['status'];
  installId: string | null;
  /** Set when the person cancelled in the app (`user_cancelled`); else a cancelled session says `access_denied`. */
  cancelError: ApiError | null;
  tenant: MockTenant;
  /** The full catalog's view for this session, once read (a disconnect changes it). */
  catalog: SessionConnectorView[] | null;
  /** Connection ids the widget asked to disconnect. */
  deletes: string[];
  reads: number;
  commits: number;
  catalogReads: number;
  cancels: number;
}

const sessions = new Map<string, MockSession>();

/** The mocks' record of one session, made on first use (any well-formed id is a session). */
export function mockSession(id: string): MockSession {
  let session = sessions.get(id);
  if (!session) {
    session = {
      status: 'created',
      installId: null,
      cancelError: null,
      tenant: 'not_connected',
      catalog: null,
      deletes: [],
      reads: 0,
      commits: 0,
      catalogReads: 0,
      cancels: 0,
    };
    sessions.set(id, session);
  }
  return session;
}

export const errorAnswer = (status: number, code: string, message: string) => HttpResponse.json<ErrorEnvelope>({ error: { code, message } }, { status });
const CANCELLABLE: ReadonlySet<SessionView['status']> = new Set(['created', 'started', 'configuring', 'cancelled']);

function viewOf(id: string, integrationId: string, session: MockSession): SessionView {
  const error =
    session.status === 'failed'
      ? { code: 'provider_error', message: 'The provider said no.' }
      : session.status === 'cancelled'
        ? (session.cancelError ?? { code: 'access_denied', message: 'The sign-in was cancelled.' })
        : null;
  const expiresAt = new Date(Date.now() + 30 * 60_000).toISOString();
  return { id, integrationId, tenantId: 'tenant-1', tags: {}, status: session.status, connector: null, error, installId: session.installId, expiresAt };
}

function connectorsOf(session: MockSession, integration: string): SessionConnectorView[] {
  if (integration === CATALOG.empty) return [];
  if (integration === CATALOG.full || integration === CATALOG.slow) return (session.catalog ??= structuredClone(mockCatalog));
  if (integration === CATALOG.methods) return structuredClone(methodsCatalog);
  return tenantConnectors(session.tenant);
}

/** Removes a connection from the session's view; false when the tenant has no such connection here. */
function disconnect(session: MockSession, integration: string, connectionId: string): boolean {
  if (integration !== CATALOG.full && integration !== CATALOG.slow) {
    if (connectionId !== TENANT_CONNECTION_ID || session.tenant === 'not_connected') return false;
    session.tenant = 'not_connected';
    return true;
  }
  const connector = connectorsOf(session, integration).find((candidate) => candidate.connections.some((c) => c.id === connectionId));
  if (!connector) return false;
  connector.connections = connector.connections.filter((c) => c.id !== connectionId);
  connector.state = stateOf(connector.connections);
  return true;
}

type Params = { integration: string; sessionId: string };
type Resolver = (args: { request: Request; params: Params; session: MockSession }) => Promise<Response> | Response;

/** A handler for one session route: well-formed ids only, and only with this session's token. */
function sessionRoute(resolver: Resolver, latencyMs: number) {
  return async ({ request, params }: { request: Request; params: Record<string, string | readonly string[] | undefined> }) => {
    const { integration, sessionId } = params as Params;
    if (!SESSION_ID.test(sessionId)) return undefined;
    if (!(request.headers.get('authorization') ?? '').startsWith(`Bearer ${sessionId}_secret_`))
      return errorAnswer(401, 'invalid_credentials', 'The credentials are missing or not valid.');
    if (latencyMs > 0) await delay(latencyMs);
    return resolver({ request, params: { integration, sessionId }, session: mockSession(sessionId) });
  };
}

const SESSION = '*/v1/integrations/:integration/session/:sessionId';

/** The session flow's handlers; `latencyMs` makes each answer take a moment (Storybook). */
export function sessionHandlers({ latencyMs = 0 }: { latencyMs?: number } = {}): HttpHandler[] {
  const route = (resolver: Resolver) => sessionRoute(resolver, latencyMs);
  return [
    http.get(
      SESSION,
      route(({ params, session }) => {
        session.reads += 1;
        return HttpResponse.json<SessionView>(viewOf(params.sessionId, params.integration, session));
      }),
    ),
    http.get(
      `${SESSION}/connectors`,
      route(async ({ params, session }) => {
        session.catalogReads += 1;
        if (params.integration === CATALOG.broken) return errorAnswer(503, 'unavailable', 'The catalog is resting.');
        if (session.tenant === 'expired') return errorAnswer(410, 'session_expired', 'The session has expired; start a new one.');
        if (params.integration === CATALOG.slow) await delay(400);
        if (params.integration === CATALOG.loading) await delay('infinite');
        return HttpResponse.json<ConnectorsAnswer>({ data: connectorsOf(session, params.integration), next: null });
      }),
    ),
    http.delete(
      `${SESSION}/connections/:connectionId`,
      route(({ request, params, session }) => {
        const connectionId = decodeURIComponent(new URL(request.url).pathname.split('/').pop() ?? '');
        if (session.tenant === 'expired') return errorAnswer(410, 'session_expired', 'The session has expired; start a new one.');
        session.deletes.push(connectionId);
        if (session.tenant === 'busy')
          return errorAnswer(409, 'connection_in_use', 'Another sign-in is renewing this connection right now; try again when it has finished.');
        if (!disconnect(session, params.integration, connectionId)) return errorAnswer(404, 'connection_not_found', 'This tenant has no such connection here.');
        return HttpResponse.json<ConnectorsAnswer>({ data: connectorsOf(session, params.integration), next: null });
      }),
    ),
    http.post(
      `${SESSION}/cancel`,
      route(({ params, session }) => {
        session.cancels += 1;
        if (session.status === 'expired') return errorAnswer(410, 'session_expired', 'The session has expired; start a new one.');
        if (!CANCELLABLE.has(session.status)) return errorAnswer(409, 'session_not_cancellable', 'The sign-in has already finished for this session.');
        if (session.status !== 'cancelled') session.cancelError = { code: 'user_cancelled', message: 'The person cancelled the sign-in in the app.' };
        session.status = 'cancelled';
        return HttpResponse.json<SessionView>(viewOf(params.sessionId, params.integration, session));
      }),
    ),
    http.post(
      `${SESSION}/commit`,
      route(({ request, params, session }) => {
        session.commits += 1;
        if (session.status !== 'authorized' && session.status !== 'committed')
          return errorAnswer(409, 'session_not_authorized', 'The session is not authorized yet.');
        session.status = 'committed';
        session.installId ??= `ins_${params.sessionId.slice(4)}`;
        const targetUrl = `${new URL(request.url).origin}/v1/integrations/${params.integration}/install/${session.installId}`;
        return HttpResponse.json<CommitAnswer>({ targetUrl });
      }),
    ),
    http.get('*/v1/integrations/:integration/install/:installId', ({ params }) => {
      const now = new Date().toISOString();
      const [integrationId, id] = [String(params.integration), String(params.installId)];
      return HttpResponse.json<InstallView>({
        id,
        integrationId,
        tenantId: 'tenant-1',
        tags: {},
        connectionIds: [],
        config: {},
        operationState: { status: 'success' },
        createdAt: now,
        updatedAt: now,
      });
    }),
  ];
}

/**
 * How tests steer the session mocks over HTTP (packages/widget/src/test-support/stand-in.ts):
 * POST /__stand-in/{id}/tenant/{state}, GET /__stand-in/{id}/tenant, POST /__stand-in/{id}/{status},
 * GET /__stand-in/{id} (the counts).
 */
export const steeringHandlers: HttpHandler[] = [
  http.post('*/__stand-in/:sessionId/tenant/:state', ({ params }) => {
    const session = mockSession(String(params.sessionId));
    session.tenant = String(params.state) as MockTenant;
    return HttpResponse.json({ state: session.tenant, deletes: session.deletes });
  }),
  http.get('*/__stand-in/:sessionId/tenant', ({ params }) => {
    const session = mockSession(String(params.sessionId));
    return HttpResponse.json({ state: session.tenant, deletes: session.deletes });
  }),
  http.post('*/__stand-in/:sessionId/:status', ({ params }) => {
    mockSession(String(params.sessionId)).status = String(params.status) as SessionView['status'];
    return HttpResponse.json({ ok: true });
  }),
  http.get('*/__stand-in/:sessionId', ({ params }) => {
    const { status, installId, reads, commits, catalogReads, cancels } = mockSession(String(params.sessionId));
    return HttpResponse.json({ status, installId, reads, commits, catalogReads, cancels });
  }),
];
