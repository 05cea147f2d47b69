/**
 * A loopback stand-in for the tenant's state (docs/flow.md, section 5): the connectors view and
 * DELETE …/connections/{id}, for sessions of any integration except the picker's catalog ones
 * (`catalog`, `slow`, `empty`, `broken`, answered by the main stand-in). Each session holds one
 * connector, "Demo Cloud", in the state a test steers with POST /__stand-in/{sessionId}/tenant/{state}:
 * not_connected (the default), connected, expiring, needs_reauth, busy (connected, but disconnecting
 * answers 409 connection_in_use) or expired (410 session_expired). GET /__stand-in/{sessionId}/tenant
 * reports the state and the DELETEs received.
 */
const CATALOG_INTEGRATIONS = new Set(['catalog', 'slow', 'empty', 'broken']);
const CONNECTORS = /^\/v1\/integrations\/([^/]+)\/session\/(ses_[0-9A-Za-z]{22})\/connectors$/;
const CONNECTION = /^\/v1\/integrations\/([^/]+)\/session\/(ses_[0-9A-Za-z]{22})\/connections\/([^/]+)$/;
const STEER = /^\/__stand-in\/(ses_[0-9A-Za-z]{22})\/tenant(?:\/(\w+))?$/;
export const STAND_IN_CONNECTION_ID = 'con_StandInDemoCloud00000';
const DAY_MS = 86_400_000;

const tenants = new Map();
const tenantOf = (id) => {
  if (!tenants.has(id)) tenants.set(id, { state: 'not_connected', deletes: [] });
  return tenants.get(id);
};

function view(tenant) {
  const state = tenant.state === 'busy' ? 'connected' : tenant.state;
  const status = { connected: 'active', expiring: 'expiring', needs_reauth: 'needs_reauth' }[state];
  const connections = status
    ? [
        {
          id: STAND_IN_CONNECTION_ID,
          label: 'ada@example.com',
          status,
          connectedAt: '2026-11-02T10:00:00.000Z',
          expiresAt: state === 'expiring' ? new Date(Date.now() + 3 * DAY_MS).toISOString() : null,
        },
      ]
    : [];
  const connector = { slug: 'demo-cloud', name: 'Demo Cloud', description: 'A pretend service', domain: 'localhost', iconUrl: null, methods: ['oauth2'] };
  return { data: [{ ...connector, state, connections }], next: null };
}

const reply = (ctx, status, body) => {
  ctx.status = status;
  ctx.body = body;
};

export async function tenantStandIn(ctx, next) {
  const steer = STEER.exec(ctx.path);
  if (steer) {
    const tenant = tenantOf(steer[1]);
    if (ctx.method === 'POST' && steer[2]) tenant.state = steer[2];
    return reply(ctx, 200, tenant);
  }
  const read = CONNECTORS.exec(ctx.path);
  const remove = CONNECTION.exec(ctx.path);
  const match = read ?? remove;
  if (!match || CATALOG_INTEGRATIONS.has(match[1])) return next();
  const id = match[2];
  if (!(ctx.get('authorization') ?? '').startsWith(`Bearer ${id}_secret_`)) {
    return reply(ctx, 401, { error: { code: 'invalid_credentials', message: 'The credentials are missing or not valid.' } });
  }
  const tenant = tenantOf(id);
  if (tenant.state === 'expired') return reply(ctx, 410, { error: { code: 'session_expired', message: 'The session has expired; start a new one.' } });
  if (read && ctx.method === 'GET') return reply(ctx, 200, view(tenant));
  if (remove && ctx.method === 'DELETE') {
    tenant.deletes.push(remove[3]);
    if (tenant.state === 'busy') {
      return reply(ctx, 409, {
        error: { code: 'connection_in_use', message: 'Another sign-in is renewing this connection right now; try again when it has finished.' },
      });
    }
    if (remove[3] !== STAND_IN_CONNECTION_ID || tenant.state === 'not_connected') {
      return reply(ctx, 404, { error: { code: 'connection_not_found', message: 'This tenant has no such connection here.' } });
    }
    tenant.state = 'not_connected';
    return reply(ctx, 200, view(tenant));
  }
  return next();
}
