import { routeTable } from '../../src/http/route-table.js';
import { startPatchbay, type TestPatchbay } from './harness.js';
import { echoDeclarations, installEchoForTenant } from './install-flow.js';
import { startStandInApi, type StandInApi } from './stand-in-api.js';

/** One generated request; `route` is the template it was drawn from (or `(unrouted)`). */
export interface FuzzRequest {
  route: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FuzzTarget {
  patchbay: TestPatchbay;
  /** Every secret the setup made or was handed: none may appear in any answer. */
  secrets: string[];
  routes: Array<{ path: string; methods: string[] }>;
  /** Valid values for each path parameter, drawn beside hostile ones. */
  params: Record<string, string[]>;
  /** Authorization header values: valid credentials of every kind, and malformed ones. */
  authorizations: { valid: string[]; malformed: string[] };
  cookies: string[];
  close(): Promise<void>;
}

/** A real server with one of everything: keys, a token, an install, a partner with a key and a portal session. */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const api: StandInApi = await startStandInApi();
  const embedOrigin = 'https://embed.example.com';
  const patchbay = await startPatchbay({
    declarations: echoDeclarations(api),
    // Guessing keys is what a fuzzer does all day: the lockout would hide every later route.
    config: { upstreamTimeoutMs: 1000, authFailureLimit: 1_000_000, partnerEmbedOrigins: [embedOrigin] },
  });
  const origin = patchbay.origin;
  const json = async (method: string, path: string, auth: string | null, body?: unknown, headers: Record<string, string> = {}) => {
    const answer = await fetch(`${origin}${path}`, {
      method,
      headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status >= 300) throw new Error(`fuzz setup: ${method} ${path} answered ${answer.status}: ${await answer.text()}`);
    return { json: (await answer.json()) as Record<string, unknown>, headers: answer.headers };
  };

  const admin = await patchbay.accessKey(['admin']);
  const host = await patchbay.accessKey(['sessions:write', 'installs:read', 'installs:write', 'connectors:read', 'events:publish', 'events:consume']);
  const tenantKey = await patchbay.accessKey(['installs:read', 'installs:write', 'sessions:write'], { tenantId: 'fuzz-tenant' });
  const { json: scoped } = await json('POST', '/v1/keys', admin, { name: 'fuzz-scoped', scopes: ['connectors:read', 'partners:write'] });
  const { json: token } = await json('POST', '/v1/tokens', host, {});
  const { sessionToken, installId } = await installEchoForTenant(origin, host, 'fuzz-tenant');
  const { json: session } = await json('POST', '/v1/integrations/echo-sync/session', host, { tenantId: 'fuzz-tenant' });
  const connection = await patchbay.patchbay.ctx.store.db.selectFrom('connections').select('id').executeTakeFirstOrThrow();

  const { json: partner } = await json('POST', '/api/v1/external/partner', admin, { appName: 'Fuzz partner' });
  const partnerData = partner.data as { id: string; url: string };
  const codeOf = (url: string) => new URL(url).hash.replace('#code=', '');
  const { json: grant } = await json('POST', `/v1/partners/${partnerData.id}/grants`, admin, { pattern: 'app/*', send: true, receive: true });
  const portalHeaders = { 'x-patchbay-portal': '1', origin };
  const redeemed = await json('POST', '/v1/partner-portal/redeem', null, { code: codeOf(partnerData.url) }, portalHeaders);
  const cookie = (redeemed.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { json: partnerKey } = await json('POST', '/v1/partner-portal/keys/dev', null, {}, { ...portalHeaders, cookie });
  const { json: link } = await json('POST', `/v1/partners/${partnerData.id}/links`, admin, {});
  const linkCode = codeOf((link.data as { url: string }).url);
  const { json: embedded } = await json('POST', '/v1/partner-portal/redeem', null, { code: linkCode }, { 'x-patchbay-portal': '1', origin: embedOrigin });
  const { json: freshLink } = await json('POST', `/v1/partners/${partnerData.id}/links`, admin, {});
  const unusedCode = codeOf((freshLink.data as { url: string }).url);

  const partnerKeyValue = (partnerKey.data as { key: string }).key;
  const embeddedToken = (embedded.session as { token: string }).token;
  const credentials = [
    admin,
    host,
    tenantKey,
    scoped.key as string,
    token.token as string,
    sessionToken,
    session.token as string,
    partnerKeyValue,
    embeddedToken,
  ];
  const secrets = [
    ...credentials,
    ...credentials.filter((value) => value.startsWith('pbk_')).map((value) => value.slice(10)),
    cookie.split('=')[1]!,
    unusedCode,
  ];

  return {
    patchbay,
    secrets,
    routes: routeTable(patchbay.patchbay.app).map(({ path, methods }) => ({ path, methods })),
    params: {
      integrationId: ['echo-sync', 'no-such-integration'],
      sessionId: [session.id as string],
      installId: [installId],
      tenantId: ['fuzz-tenant', 'other-tenant'],
      action: ['echo', 'missing'],
      slug: ['bearer'],
      connectionId: [connection.id],
      keyId: [scoped.id as string],
      partnerId: [partnerData.id],
      grantId: [grant.id as string],
      environment: ['dev', 'stage', 'prod'],
      rest: ['me', 'echo', 'not-found', 'redirect?to=http://example.com/', 'me?x=1'],
    },
    authorizations: {
      valid: credentials.map((value) => `Bearer ${value}`),
      malformed: [
        'Bearer',
        'Bearer ',
        'Basic YWRhOnNlY3JldA==',
        `Bearer pbk_${'0'.repeat(28)}`,
        `Bearer ${admin.slice(0, -1)}x`,
        `Bearer pbp_${'A'.repeat(40)}`,
        `Bearer ses_${'A'.repeat(40)}`,
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
        `Bearer ${'x'.repeat(5000)}`,
      ],
    },
    cookies: [cookie, 'patchbay_portal=nope', `patchbay_portal=${'%'.repeat(50)}`],
    async close() {
      await patchbay.close();
      await api.close();
    },
  };
}
