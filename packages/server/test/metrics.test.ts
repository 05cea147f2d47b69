import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { createConnection } from '../src/connections/service.js';
import type { Declarations } from '../src/index.js';
import { Metrics } from '../src/metrics/metrics.js';
import { startMetricsListener } from '../src/metrics/routes.js';
import { closeServer, startPatchbay, type TestPatchbay } from './support/harness.js';
import { echoDeclarations, installEchoForTenant } from './support/install-flow.js';
import { apiClient, assertError, assertOneEvent, type Api, withEvents } from './support/keys.js';
import { parseSamples, sampleValue } from './support/prometheus.js';
import { signedRequests, STAND_IN, startStandInApi, type StandInApi } from './support/stand-in-api.js';

/** What the refreshing custom method hands out next; `fail` makes its refresh throw. */
const vault = { secret: 'rotated-signing-secret', fail: false };

function declarations(api: StandInApi): Declarations {
  const base = echoDeclarations(api);
  base.connectors.push({
    slug: 'signed',
    name: 'Signed',
    description: '',
    baseUrl: `${api.origin}/custom`,
    visibility: 'shared',
    authMethods: [{ type: 'custom', handler: 'signed-refreshing' }],
    actions: {},
  } as unknown as Declarations['connectors'][number]);
  return base;
}

describe('metrics at /metrics, for metrics:read keys or on a separate listener', () => {
  let api: StandInApi;
  let patchbay: TestPatchbay;
  let call: Api;
  let admin: string;
  let reader: string;
  let installer: string;

  before(async () => {
    api = await startStandInApi();
    patchbay = await startPatchbay({
      declarations: declarations(api),
      authMethods: {
        'signed-refreshing': signedRequests(async (values) => {
          if (vault.fail) throw new Error('the vault is sealed');
          return { ...values, secret: vault.secret };
        }),
      },
    });
    call = apiClient(patchbay);
    admin = await patchbay.accessKey(['admin']);
    reader = await patchbay.accessKey(['metrics:read']);
    installer = await patchbay.accessKey(['sessions:write', 'installs:read', 'installs:write', 'events:publish', 'events:consume']);
  });

  after(async () => {
    await patchbay.close();
    await api.close();
  });

  const scrape = async () => {
    const answer = await call('/metrics', { auth: reader });
    assert.equal(answer.status, 200, answer.text);
    return answer.text;
  };

  /** Runs `action` and answers how much the sample moved meanwhile. */
  async function moved(name: string, labels: Record<string, string>, action: () => Promise<unknown>): Promise<number> {
    const before = sampleValue(await scrape(), name, labels);
    await action();
    return sampleValue(await scrape(), name, labels) - before;
  }

  it('answers a metrics:read key in the Prometheus text format, and refuses keys without the scope with an auth event', async () => {
    const answer = await call('/metrics', { auth: reader });
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.ok(parseSamples(answer.text).length > 0, 'every line parses as a sample');

    const anonymous = await withEvents(patchbay, () => call('/metrics'));
    assertError(anonymous.response, 401, 'invalid_credentials');
    assertOneEvent(anonymous.events, { outcome: 'failure', reason: 'invalid_credentials', path: '/metrics' });
    const unscoped = await withEvents(patchbay, () => call('/metrics', { auth: installer }));
    assertError(unscoped.response, 403, 'insufficient_scope');
    assertOneEvent(unscoped.events, { outcome: 'failure', reason: 'insufficient_scope', path: '/metrics' });
  });

  it('lets an admin mint a metrics:read key that reads the metrics and nothing else', async () => {
    const created = await call('/v1/keys', { method: 'POST', auth: admin, body: { name: 'prometheus', scopes: ['metrics:read'] } });
    assert.equal(created.status, 201, created.text);
    const { key } = created.json as { key: string };
    assert.equal((await call('/metrics', { auth: key })).status, 200);
    assertError(await call('/v1/keys', { auth: key }), 403, 'insufficient_scope');
  });

  it('counts requests by route template, method and status, with a latency histogram, and never a raw path', async () => {
    const unknownKey = `key_${randomBytes(8).toString('hex')}`;
    const labels = { route: '/v1/keys/:keyId', method: 'GET', status: '404' };
    assert.equal(await moved('patchbay_http_requests_total', labels, () => call(`/v1/keys/${unknownKey}`, { auth: admin })), 1);
    const text = await scrape();
    assert.ok(sampleValue(text, 'patchbay_http_request_duration_seconds_count', { route: '/v1/keys/:keyId', method: 'GET' }) >= 1);
    await call(`/no/such/${unknownKey}`);
    assert.ok(sampleValue(await scrape(), 'patchbay_http_requests_total', { route: 'unmatched', status: '404' }) >= 1, 'unrouted paths share one label');
    assert.ok(!(await scrape()).includes(unknownKey), 'the id is not in any label');
    for (const secret of [admin, reader, installer]) assert.ok(!text.includes(secret.slice(10)), 'no key in the metrics');
  });

  it('counts authentication attempts by outcome and reason', async () => {
    const bogus = `pbk_${'A'.repeat(28)}`;
    assert.equal(
      await moved('patchbay_auth_attempts_total', { outcome: 'failure', reason: 'invalid_credentials' }, () => call('/v1/whoami', { auth: bogus })),
      1,
    );
    assert.ok((await moved('patchbay_auth_attempts_total', { outcome: 'success', reason: 'none' }, () => call('/v1/whoami', { auth: admin }))) >= 1);
  });

  it('keeps every authentication attempt counted between scrapes, each once', async () => {
    const metrics = new Metrics();
    const read = async (labels: Record<string, string>) => sampleValue(await metrics.registry.metrics(), 'patchbay_auth_attempts_total', labels);
    for (let i = 0; i < 3; i++) metrics.countAuthAttempt('success', null);
    metrics.countAuthAttempt('failure', 'key_expired');
    assert.equal(await read({ outcome: 'success', reason: 'none' }), 3);
    assert.equal(await read({ outcome: 'success', reason: 'none' }), 3, 'a second scrape counts nothing twice');
    metrics.countAuthAttempt('success', null);
    metrics.countAuthAttempt('failure', 'key_expired');
    metrics.countAuthAttempt('failure', 'ip_restricted');
    assert.equal(await read({ outcome: 'success', reason: 'none' }), 4);
    assert.equal(await read({ outcome: 'failure', reason: 'key_expired' }), 2);
    assert.equal(await read({ outcome: 'failure', reason: 'ip_restricted' }), 1);
  });

  it('times upstream calls by connector and status, for tenant actions and the proxy', async () => {
    await installEchoForTenant(patchbay.origin, installer, 'metrics-tenant');
    const action = () => call('/v1/integrations/echo-sync/api/tenant/metrics-tenant/echo', { method: 'POST', auth: installer, body: { n: 1 } });
    assert.equal(await moved('patchbay_upstream_requests_total', { connector: 'bearer', status: '200' }, action), 1);
    const connection = await patchbay.patchbay.ctx.store.db
      .selectFrom('connections')
      .select('id')
      .where('tenant_id', '=', 'metrics-tenant')
      .executeTakeFirstOrThrow();
    const proxy = () => call(`/v1/connections/${connection.id}/proxy/not-found`, { auth: installer });
    assert.equal(await moved('patchbay_upstream_requests_total', { connector: 'bearer', status: '404' }, proxy), 1);
    assert.ok(sampleValue(await scrape(), 'patchbay_upstream_request_duration_seconds_count', { connector: 'bearer' }) >= 2);
  });

  it('counts credential refreshes by outcome', async () => {
    const connectionId = await createConnection(patchbay.patchbay.ctx, {
      connector: 'signed',
      tenantId: 'refreshing',
      credentials: { type: 'custom', handler: 'signed-refreshing', values: { ...STAND_IN.custom } },
    });
    const proxy = () => call(`/v1/connections/${connectionId}/proxy/me`, { auth: installer });
    try {
      // The provider stops honouring the old secret: a 401, one refresh, one retry.
      api.rotate({ custom: { clientId: STAND_IN.custom.clientId, secret: vault.secret } });
      assert.equal(await moved('patchbay_token_refreshes_total', { outcome: 'success' }, proxy), 1);
      api.rotate({ custom: { clientId: STAND_IN.custom.clientId, secret: 'another-secret-again' } });
      vault.fail = true;
      assert.equal(await moved('patchbay_token_refreshes_total', { outcome: 'failed' }, proxy), 1);
    } finally {
      vault.fail = false;
      api.reset();
    }
  });

  it('counts events published and delivered, by poll and by stream, and the streams open', async () => {
    const publish = (n: number) =>
      call('/v1/events', { method: 'POST', auth: installer, body: { topic: 'app/metrics', payload: { n } } }).then((answer) =>
        assert.equal(answer.status, 201),
      );
    assert.equal(await moved('patchbay_events_published_total', {}, () => publish(1)), 1);
    assert.equal(await moved('patchbay_events_delivered_total', { via: 'poll' }, () => call('/v1/events?topics=app/metrics&after=0', { auth: installer })), 1);

    const openBefore = sampleValue(await scrape(), 'patchbay_event_streams_open');
    const deliveredBefore = sampleValue(await scrape(), 'patchbay_events_delivered_total', { via: 'stream' });
    const controller = new AbortController();
    const stream = await fetch(`${patchbay.origin}/v1/events/stream?topics=app/metrics`, {
      headers: { authorization: `Bearer ${installer}` },
      signal: controller.signal,
    });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    let text = '';
    await publish(2);
    while (!text.includes('"n":2')) text += new TextDecoder().decode((await reader.read()).value);
    const during = await scrape();
    assert.equal(sampleValue(during, 'patchbay_event_streams_open'), openBefore + 1);
    assert.equal(sampleValue(during, 'patchbay_events_delivered_total', { via: 'stream' }), deliveredBefore + 1);
    controller.abort();
    for (let tries = 0; sampleValue(await scrape(), 'patchbay_event_streams_open') !== openBefore; tries++) {
      assert.ok(tries < 200, 'the gauge comes back down when the stream closes');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });

  it('times store statements by kind, and shows the PostgreSQL pool', async () => {
    const labels = { operation: 'select' };
    assert.ok((await moved('patchbay_store_query_duration_seconds_count', labels, () => call('/v1/keys', { auth: admin }))) >= 1);
    const text = await scrape();
    assert.match(text, /# TYPE patchbay_store_pool_connections gauge/);
    if (patchbay.patchbay.ctx.store.dialect === 'postgres') assert.ok(sampleValue(text, 'patchbay_store_pool_connections', { state: 'total' }) >= 1);
  });

  it('serves /metrics without a key on a separate listener, and nothing else there', async () => {
    const server = await startMetricsListener(patchbay.patchbay.ctx.metrics, { host: '127.0.0.1', port: 0 }, patchbay.patchbay.ctx.logger);
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const answer = await fetch(`${origin}/metrics`);
      assert.equal(answer.status, 200);
      assert.match(await answer.text(), /patchbay_http_requests_total/);
      const other = await fetch(`${origin}/v1/keys`);
      assert.equal(other.status, 404);
      assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'route_not_found');
    } finally {
      await closeServer(server);
    }
  });

  it('reads the separate listener from PATCHBAY_METRICS_LISTEN, and has none by default', () => {
    const env = { PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64'), PATCHBAY_DATA_DIR: '/nonexistent-patchbay-test' };
    assert.equal(loadConfig([], env).metricsListen, null);
    assert.deepEqual(loadConfig([], { ...env, PATCHBAY_METRICS_LISTEN: '127.0.0.1:9464' }).metricsListen, { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(loadConfig([], { ...env, PATCHBAY_METRICS_LISTEN: '[::1]:9464' }).metricsListen, { host: '::1', port: 9464 });
    assert.throws(() => loadConfig([], { ...env, PATCHBAY_METRICS_LISTEN: '9464' }), /host:port/);
  });
});
