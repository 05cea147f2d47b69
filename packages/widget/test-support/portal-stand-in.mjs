/**
 * A loopback stand-in for the partner portal endpoints <partner-onboarding> calls
 * (docs/partners.md), for the component tests. Codes steer it: `pbl_good…` redeems once,
 * `pbl_down…` answers 503, anything else is unknown. The real server is covered end to end.
 */
const usedCodes = new Set();
const portals = new Map();
let sessions = 0;

function freshPortal() {
  return {
    workspace: { name: 'Acme Logistics', color: '#0f766e', iconUrl: null },
    partner: { id: 'ptn_standin', appName: 'Shipfast', appDescription: 'Label printing', contact: '', status: 'invited' },
    invitation: 'Acme Logistics invites Shipfast to exchange order events.',
    keys: [],
    grants: [
      { topic: 'app/order/*', send: false, receive: true },
      { topic: 'app/shipment/created', send: true, receive: false },
      { topic: 'app/shipment/updated', send: true, receive: true },
    ],
    subscriptions: { publish: [], consume: [] },
    apiBaseUrl: 'http://localhost:4400',
    sessionExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    calls: [],
  };
}

const reply = (ctx, status, body) => {
  ctx.status = status;
  ctx.body = body;
};
const publicState = ({ calls: _calls, ...state }) => state;
const randomKey = () =>
  `pbp_${Array.from({ length: 28 }, () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(Math.random() * 62)]).join('')}`;

async function readJson(ctx) {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  return raw ? JSON.parse(raw) : {};
}

export async function portalStandIn(ctx, next) {
  // Test hooks: the caller's portal as the stand-in holds it, and a way to end the session.
  if (ctx.path === '/__portal/current') {
    const portal = portals.get(/patchbay_portal=(\w+)/.exec(ctx.get('cookie') ?? '')?.[1]);
    return reply(ctx, portal ? 200 : 404, portal ?? {});
  }
  if (ctx.path === '/__portal/logout') {
    ctx.set('set-cookie', 'patchbay_portal=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    return reply(ctx, 200, {});
  }
  if (!ctx.path.startsWith('/v1/partner-portal')) return next();
  const path = ctx.path.slice('/v1/partner-portal'.length);
  if (ctx.method !== 'GET' && ctx.get('x-patchbay-portal') !== '1') return reply(ctx, 403, { error: { code: 'csrf', message: 'Missing the portal header.' } });
  if (path === '/redeem' && ctx.method === 'POST') {
    const { code } = await readJson(ctx);
    if (typeof code === 'string' && code.startsWith('pbl_down')) return reply(ctx, 503, { error: { code: 'unavailable', message: 'Resting.' } });
    if (typeof code !== 'string' || !code.startsWith('pbl_good') || usedCodes.has(code))
      return reply(ctx, 404, { error: { code: 'link_invalid', message: 'This link is not valid.' } });
    usedCodes.add(code);
    sessions += 1;
    const session = `s${sessions}`;
    portals.set(session, freshPortal());
    ctx.set('set-cookie', `patchbay_portal=${session}; Path=/; HttpOnly; SameSite=Strict`);
    return reply(ctx, 200, { data: publicState(portals.get(session)) });
  }
  const session = /patchbay_portal=(\w+)/.exec(ctx.get('cookie') ?? '')?.[1];
  const portal = session && portals.get(session);
  if (!portal) return reply(ctx, 401, { error: { code: 'portal_session_expired', message: 'Ask for a new link.' } });
  portal.calls.push(`${ctx.method} ${path}`);
  if (path === '' && ctx.method === 'GET') return reply(ctx, 200, { data: publicState(portal) });
  if (path === '/partner' && ctx.method === 'PATCH') {
    const body = await readJson(ctx);
    if (!String(body.contact ?? '').includes('@')) return reply(ctx, 400, { error: { code: 'invalid_request', message: 'contact: not an email address' } });
    Object.assign(portal.partner, body, { status: 'active' });
    return reply(ctx, 200, { data: publicState(portal) });
  }
  const keyPath = /^\/keys\/(dev|stage|prod)(\/rotate)?$/.exec(path);
  if (keyPath && ctx.method === 'POST') {
    const [, environment, rotate] = keyPath;
    const { graceSeconds = 0 } = await readJson(ctx);
    const key = randomKey();
    const existing = portal.keys.find((k) => k.environment === environment);
    if (Boolean(existing) !== Boolean(rotate)) return reply(ctx, 409, { error: { code: rotate ? 'no_key' : 'key_exists', message: 'Wrong state.' } });
    portal.keys = portal.keys.filter((k) => k.environment !== environment);
    portal.keys.push({
      environment,
      prefix: key.slice(0, 10),
      createdAt: new Date().toISOString(),
      previousExpiresAt: rotate && graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000).toISOString() : null,
    });
    portal.lastGrace = graceSeconds;
    return reply(ctx, 201, { data: { key, state: publicState(portal) } });
  }
  if (path === '/subscriptions' && ctx.method === 'PUT') {
    portal.subscriptions = await readJson(ctx);
    return reply(ctx, 200, { data: publicState(portal) });
  }
  return reply(ctx, 404, { error: { code: 'not_found', message: 'No such portal route.' } });
}
