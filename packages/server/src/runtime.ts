import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import { Router } from 'express';
import { createServer } from './app.js';
import type { Config } from './config.js';
import { loadCatalog } from './connectors/catalog.js';
import { refuseUnhonourable } from './connectors/start-check.js';
import { createOAuthClients } from './connections/oauth.js';
import { CredentialBroker } from './connections/broker.js';
import { HealthScheduler } from './connections/health-check.js';
import { pruneRequestLog, RequestLog } from './connections/request-log.js';
import { ReadCache } from './store/read-cache.js';
import type { CustomAuthMethods } from './connectors/auth-methods.js';
import type { AppContext } from './context.js';
import { Keyring } from './crypto/envelope.js';
import { resolveMasterKeys } from './crypto/master-key.js';
import { reencryptWithCurrentKey } from './crypto/reencrypt.js';
import { loadHashingKey } from './crypto/secrets.js';
import { type Declarations } from './declarations.js';
import { pruneEvents } from './events/retention.js';
import { createEventHub } from './events/service.js';
import { ActiveInstallCache } from './installs/active-cache.js';
import { resumePendingInstalls } from './installs/service.js';
import { AuthEventRecorder, pruneAuthEvents } from './keys/auth-events.js';
import { createAccessKey } from './keys/service.js';
import { loadTokenSigner } from './keys/tokens.js';
import { accessKeyStrategy, tokenStrategy } from './keys/strategy.js';
import { KeyVerifier } from './keys/verifier.js';
import { applyServerLimits } from './http/listener.js';
import { FailureLimiter } from './http/rate-limit.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics/metrics.js';
import { startMetricsListener } from './metrics/routes.js';
import { locateWidgetBundle } from './pages/widget.js';
import { pruneEndedPortalSessions } from './partners/portal.js';
import { partnerKeyStrategy } from './partners/strategy.js';
import { PartnerKeyVerifier } from './partners/verifier.js';
import { sessionTokenStrategy } from './sessions/strategy.js';
import { openStore, type Store, storeOptionsOf } from './store/store.js';
import { isoNow } from './store/time.js';
import { type Clock, WebhookDispatcher } from './webhooks/dispatcher.js';

export interface Patchbay {
  app: Express;
  ctx: AppContext;
  /** Refreshes and verifies connections in the background (tests call `tick()` themselves too). */
  health: HealthScheduler;
  /** Sends the webhook outbox (stopped by `close`). */
  webhooks: WebhookDispatcher;
  close(): Promise<void>;
}

export interface PatchbayOptions {
  logger?: Logger;
  /** Overrides the declarations file (tests pass their own). */
  declarations?: Declarations;
  /** An already open store (tests share one). */
  store?: Store;
  /** Proprietary auth schemes for connectors with `{ "type": "custom", "handler": name }`. */
  authMethods?: CustomAuthMethods;
  /** The webhook dispatcher's clock (tests step it through a retry schedule of hours). */
  clock?: Clock;
}

/** Opens the store and builds everything the app needs, in order. Does not listen. */
export async function createPatchbay(config: Config, options: PatchbayOptions = {}): Promise<Patchbay> {
  const logger = options.logger ?? createLogger(config.logLevel);
  // Dev mode's key file is read or made here, not while loading the configuration (which writes nothing).
  const masterKeys = resolveMasterKeys(config);
  if (masterKeys.generatedPath) {
    logger.warn(
      { path: masterKeys.generatedPath },
      'DEV MODE: generated a master key on disk. Anyone with this file can read stored credentials. Never use dev mode in production.',
    );
  }
  const store = options.store ?? (await openStore(config.databaseUrl, storeOptionsOf(config)));
  try {
    return await assemble(config, options, logger, store, new Keyring(masterKeys.keys));
  } catch (error) {
    // A refused start (a wrong or missing master key, bad declarations…) leaves no open database
    // behind: a PostgreSQL pool would keep the process up.
    if (!options.store) await store.close();
    throw error;
  }
}

/** Everything after the store is open: migrations, keys, catalog, context, app, housekeeping. */
async function assemble(config: Config, options: PatchbayOptions, logger: Logger, store: Store, keyring: Keyring): Promise<Patchbay> {
  await store.migrate();
  const { reencrypted, unreadable } = await reencryptWithCurrentKey(store, keyring);
  if (unreadable.length > 0) logger.error({ records: unreadable }, 'master key rotation: these stored secrets do not authenticate and were left as they are');
  if (reencrypted > 0) {
    logger.info(
      { reencrypted, keyId: keyring.currentKeyId },
      'master key rotation: re-encrypted the stored secrets made with older keys; once every instance has started, the older keys may leave PATCHBAY_MASTER_KEY',
    );
  }
  const hashingKey = await loadHashingKey(store, keyring);
  const metrics = new Metrics();
  store.observeQueries((sql, durationMs) => metrics.observeQuery(sql, durationMs));
  if (store.poolStats) metrics.watchPool(store.poolStats);

  const runDemo = config.dev && !options.declarations && !config.declarations;
  const demoClientSecret = randomBytes(24).toString('base64url');
  // The demo's modules (and oidc-provider with them) are loaded only in demo mode.
  const demoModules = runDemo
    ? await Promise.all([import('./demo/declarations.js'), import('./demo/host.js'), import('./demo/provider.js'), import('./demo/api.js')])
    : undefined;
  const declarations =
    options.declarations ??
    config.declarations ??
    (demoModules ? demoModules[0].demoDeclarations(config.publicUrl, demoClientSecret) : { connectors: [], integrations: [] });
  const catalog = await loadCatalog(store, keyring, declarations, config.configFile ?? (runDemo ? 'the demo declarations' : 'the config file'));
  await refuseUnhonourable(catalog, declarations, options.authMethods ?? {}, logger);
  const ctx: AppContext = {
    config,
    store,
    keyring,
    hashingKey,
    logger,
    catalog,
    customAuthMethods: options.authMethods ?? {},
    keys: new KeyVerifier({ store, hashingKey }, config.keyCacheSeconds * 1000),
    tokenSigner: await loadTokenSigner({ store, keyring }, config.publicUrl),
    authEvents: new AuthEventRecorder({ store, onError: (error) => logger.error({ err: error }, 'could not write auth events') }),
    failures: new FailureLimiter({ store }, config.authFailureLimit, config.authFailureWindowSeconds),
    strategies: [],
    events: createEventHub({ store, logger }),
    metrics,
    requestLog: new RequestLog({ store, logger }, config.requestLogSize),
    connectionRows: new ReadCache(config.connectionCacheSeconds * 1000),
    activeInstalls: new ActiveInstallCache(config.connectionCacheSeconds * 1000),
    partnerKeys: new PartnerKeyVerifier({ store, hashingKey }, config.keyCacheSeconds * 1000),
  };
  // The credential kinds, from their resources; each reads parts of the context, so they come after
  // it. The access key strategy takes whatever no other accepted kind recognizes: it is last.
  ctx.strategies = [sessionTokenStrategy(ctx), partnerKeyStrategy(ctx), tokenStrategy(ctx), accessKeyStrategy(ctx)];
  ctx.authEvents.observe((event) => metrics.countAuthAttempt(event.outcome, event.reason));
  await ctx.events.start();
  const oauth = createOAuthClients(catalog, Math.ceil(config.upstreamTimeoutMs / 1000));
  const broker = new CredentialBroker(ctx, oauth);
  const health = new HealthScheduler(ctx, broker);

  let demo: Router | undefined;
  if (demoModules) {
    const [{ DEMO_CLIENT_ID }, { demoHost }, { createDemoProvider }, { demoThirdPartyApi }] = demoModules;
    demo = Router();
    const provider = await createDemoProvider({
      issuer: `${config.publicUrl}/demo/oidc`,
      clientId: DEMO_CLIENT_ID,
      clientSecret: demoClientSecret,
      redirectUris: [`${config.publicUrl}/oauth/callback`],
    });
    demo.use('/oidc', provider.callback());
    demo.use('/api', demoThirdPartyApi(provider));
    demo.use('/', demoHost(config, await createDemoHostKey(store, ctx)));
    logger.info({ url: `${config.publicUrl}/demo` }, 'demo mode: open the demo page');
  }

  const widget = locateWidgetBundle();
  if (!widget) logger.warn('the widget bundle is not built: run `npm run build` (the /widget routes are off)');
  const app = createServer(ctx, { oauth, broker, widget, demo });
  await resumePendingInstalls(ctx);
  const housekeeping = async () => {
    await pruneAuthEvents(store, config.authEventRetentionDays);
    await pruneEndedPortalSessions({ store });
    await pruneEvents(store, { maxAgeDays: config.eventRetentionDays, maxCount: config.eventRetentionCount });
    await pruneRequestLog(store, config.requestLogDays);
    await ctx.failures.prune();
  };
  await housekeeping();
  const webhooks = new WebhookDispatcher(ctx, options.clock);
  webhooks.start();
  const timer = setInterval(() => void housekeeping().catch((error: unknown) => logger.warn({ err: error }, 'housekeeping failed')), 3_600_000);
  timer.unref();
  health.start();
  return {
    app,
    ctx,
    health,
    webhooks,
    async close() {
      clearInterval(timer);
      await health.stop();
      await webhooks.close();
      await ctx.requestLog.close();
      store.observeQueries(null);
      await ctx.events.close();
      await ctx.authEvents.close();
      await store.close();
    },
  };
}

/** The demo host's access key lives only in memory; earlier ones are inactivated, never deleted. */
async function createDemoHostKey(store: Store, ctx: AppContext): Promise<string> {
  await store.db.updateTable('access_keys').set({ inactive_at: isoNow() }).where('name', 'like', 'demo-host-%').where('inactive_at', 'is', null).execute();
  const { key } = await createAccessKey(ctx, {
    name: `demo-host-${randomBytes(4).toString('hex')}`,
    scopes: ['sessions:write', 'installs:read', 'installs:write'],
    actor: 'demo',
  });
  return key;
}

/** Listens, and on SIGTERM/SIGINT stops accepting, lets in-flight requests finish, then closes the store. */
export async function listen(patchbay: Patchbay, config: Config): Promise<Server> {
  const server = createHttpServer(patchbay.app);
  applyServerLimits(server, config, patchbay.ctx.logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing = false;
  // Once shutting down, each answer (in flight or new) closes its connection: a keep-alive client
  // must not hold the server open (server.close waits for every connection) after its last answer.
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  const shutdown = (signal: string) => {
    const { logger } = patchbay.ctx;
    logger.info({ signal }, 'shutting down');
    closing = true;
    for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    // Event streams never finish on their own: end them so the server can close.
    void patchbay.ctx.events.close();
    server.close(() => {
      patchbay.close().then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'could not close the store cleanly');
          process.exit(1);
        },
      );
    });
    server.closeIdleConnections();
    setTimeout(() => {
      logger.error('requests still in flight after 10 s: exiting anyway');
      process.exit(1);
    }, 10_000).unref();
  };
  const metricsServer = config.metricsListen ? await startMetricsListener(patchbay.ctx.metrics, config.metricsListen, patchbay.ctx.logger) : null;
  if (metricsServer) server.once('close', () => metricsServer.close());
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return server;
}
