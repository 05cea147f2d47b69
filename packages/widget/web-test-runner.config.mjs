// Component tests in Debian's Chromium, Firefox ESR or WebKitGTK (web-test-runner.browsers.mjs).
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { fileURLToPath } from 'node:url';
import { portalStandIn } from './test-support/portal-stand-in.mjs';
import { tenantStandIn } from './test-support/tenant-stand-in.mjs';
import { browsers, files } from './web-test-runner.browsers.mjs';

/**
 * A loopback stand-in for the three session endpoints the component calls (docs/flow.md), so the
 * component tests exercise real fetches without a Patchbay server. Tests steer it with
 * POST /__stand-in/{sessionId}/{status}. The real server is covered by the end-to-end tests.
 */
const sessions = new Map();
const SESSION_PATH = /^\/v1\/integrations\/([^/]+)\/session\/(ses_[0-9A-Za-z]{22})(\/commit|\/connectors|\/cancel)?$/;

/** The picker's catalog: one connector per state, and enough of them to search and scroll. */
const catalog = [
  { slug: 'slack', name: 'Slack', description: 'Messages and channels', domain: 'slack.com', state: 'not_connected', connections: [] },
  {
    slug: 'github',
    name: 'GitHub',
    description: 'Repositories and issues',
    domain: 'github.com',
    state: 'connected',
    connections: [{ id: 'con_GitHubWorkAccount00000', label: 'Work', status: 'active' }],
  },
  {
    slug: 'salesforce',
    name: 'Salesforce',
    description: 'Accounts, leads and opportunities',
    domain: 'salesforce.com',
    state: 'needs_reauth',
    connections: [{ id: 'con_SalesforceOld000000000', label: null, status: 'needs_reauth' }],
  },
  { slug: 'cafe-pos', name: 'Café POS', description: 'Point of sale for cafés', domain: 'cafe-pos.example', state: 'not_connected', connections: [] },
  { slug: 'hubspot', name: 'HubSpot', description: 'Contacts and deals', domain: 'hubspot.com', state: 'not_connected', connections: [] },
  { slug: 'notion', name: 'Notion', description: 'Pages and databases', domain: 'notion.so', state: 'not_connected', connections: [] },
].map((connector) => ({ iconUrl: null, methods: ['oauth2'], ...connector }));
const INSTALL_PATH = /^\/v1\/integrations\/([^/]+)\/install\/(ins_[0-9A-Za-z]+)$/;

function sessionState(id) {
  if (!sessions.has(id)) sessions.set(id, { status: 'created', installId: null, reads: 0, commits: 0, catalogReads: 0, cancels: 0 });
  return sessions.get(id);
}

/** POST …/cancel as the server answers it (docs/flow.md): idempotent, 409 once the sign-in finished. */
function cancelInStandIn(ctx, state) {
  state.cancels += 1;
  if (state.status === 'expired') {
    ctx.status = 410;
    ctx.body = { error: { code: 'session_expired', message: 'The session has expired; start a new one.' } };
    return false;
  }
  if (!['created', 'started', 'configuring', 'cancelled'].includes(state.status)) {
    ctx.status = 409;
    ctx.body = { error: { code: 'session_not_cancellable', message: 'The sign-in has already finished for this session.' } };
    return false;
  }
  if (state.status !== 'cancelled') state.cancelError = { code: 'user_cancelled', message: 'The person cancelled the sign-in in the app.' };
  state.status = 'cancelled';
  return true;
}

async function standIn(ctx, next) {
  const steer = /^\/__stand-in\/(ses_[0-9A-Za-z]{22})\/(\w+)$/.exec(ctx.path);
  if (steer && ctx.method === 'POST') {
    sessionState(steer[1]).status = steer[2];
    ctx.body = { ok: true };
    return;
  }
  const counts = /^\/__stand-in\/(ses_[0-9A-Za-z]{22})$/.exec(ctx.path);
  if (counts) {
    ctx.body = sessionState(counts[1]);
    return;
  }
  const session = SESSION_PATH.exec(ctx.path);
  if (session) {
    const [, integration, id, commit] = session;
    const state = sessionState(id);
    if (!(ctx.get('authorization') ?? '').startsWith(`Bearer ${id}_secret_`)) {
      ctx.status = 401;
      ctx.body = { error: { code: 'invalid_credentials', message: 'The credentials are missing or not valid.' } };
      return;
    }
    if (commit === '/connectors') {
      // The integration's name steers the catalog: empty, broken (503), slow (0.4 s) or the full one.
      state.catalogReads += 1;
      if (integration === 'broken') {
        ctx.status = 503;
        ctx.body = { error: { code: 'unavailable', message: 'The catalog is resting.' } };
        return;
      }
      if (integration === 'slow') await new Promise((resolve) => setTimeout(resolve, 400));
      ctx.body = { data: integration === 'empty' ? [] : catalog, next: null };
      return;
    }
    if (commit === '/cancel' && ctx.method === 'POST') {
      if (!cancelInStandIn(ctx, state)) return;
    } else if (commit === '/commit' && ctx.method === 'POST') {
      state.commits += 1;
      state.installId = `ins_${id.slice(4)}`;
      state.status = 'committed';
      ctx.body = { targetUrl: `${ctx.protocol}://${ctx.host}/v1/integrations/${integration}/install/${state.installId}` };
      return;
    }
    if (commit !== '/cancel') state.reads += 1;
    ctx.body = {
      id,
      integrationId: integration,
      tenantId: 'tenant-1',
      status: state.status,
      installId: state.installId,
      expiresAt: new Date(Date.now() + 60000).toISOString(),
      error:
        state.status === 'failed'
          ? { code: 'provider_error', message: 'The provider said no.' }
          : state.status === 'cancelled'
            ? (state.cancelError ?? { code: 'access_denied', message: 'The sign-in was cancelled.' })
            : null,
    };
    return;
  }
  const install = INSTALL_PATH.exec(ctx.path);
  if (install) {
    ctx.body = { id: install[2], integrationId: install[1], tenantId: 'tenant-1', tags: {}, operationState: { status: 'success' } };
    return;
  }
  return next();
}

export default {
  middleware: [tenantStandIn, standIn, portalStandIn],
  // nanostores reads process.env.NODE_ENV, which bundlers replace; the test page has no bundler.
  testRunnerHtml: (testFramework) =>
    `<html><head><script>window.process = { env: { NODE_ENV: 'development' } };</script></head><body><script type="module" src="${testFramework}"></script></body></html>`,
  files,
  nodeResolve: true,
  concurrency: 1,
  testFramework: { config: { timeout: 10000 } },
  browsers,
  // The decorator options live in tsconfig.wtr.json itself: esbuildPlugin does not follow `extends`.
  plugins: [esbuildPlugin({ ts: true, tsconfig: fileURLToPath(new URL('./tsconfig.wtr.json', import.meta.url)) })],
};
