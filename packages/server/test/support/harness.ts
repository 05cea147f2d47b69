import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import express from 'express';
import { type Config, createLogger, createPatchbay, type Declarations, loadConfig, type Patchbay } from '../../src/index.js';
import { createDemoProvider } from '../../src/demo/provider.js';
import { demoThirdPartyApi } from '../../src/demo/api.js';
import { createAccessKey, type Scope } from '../../src/keys/service.js';
import type Provider from 'oidc-provider';
import type { CustomAuthMethods } from '../../src/connectors/auth-methods.js';
import { applyServerLimits } from '../../src/http/listener.js';
import { LogCapture } from './log-capture.js';
import { OpenApiAnswers } from './openapi-answers.js';
import { buildOpenApiDocument } from '../../src/openapi/document.js';
import { ROUTES } from '../../src/routes.js';
import type { Clock } from '../../src/webhooks/dispatcher.js';

/** Listens on an ephemeral loopback port before the handler exists, so URLs are known up front. */
export async function listenOnLoopback(prepare?: (server: Server) => void): Promise<{ server: Server; origin: string; port: number }> {
  const server = createHttpServer();
  prepare?.(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, port };
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface ThirdParty {
  /** Issuer of the in-process oidc-provider, on its own loopback port (a real third party). */
  issuer: string;
  /** Base URL of the stand-in API that accepts only that provider's tokens. */
  apiBaseUrl: string;
  provider: Provider;
  clientId: string;
  clientSecret: string;
  /** Counts token endpoint calls, per grant type. */
  tokenRequests: { authorization_code: number; refresh_token: number };
  close(): Promise<void>;
}

/**
 * Starts oidc-provider (PKCE required, refresh tokens rotated) and a stand-in third-party API on
 * loopback. The redirect URI is fixed later by `registerRedirectUri` since Patchbay's port comes second.
 */
export async function startThirdParty(options: {
  accessTokenTtlSeconds?: number;
  redirectUri: string | string[];
  /** Headers on every provider page, e.g. the `Cross-Origin-Opener-Policy` large providers send. */
  pageHeaders?: Record<string, string>;
}): Promise<ThirdParty> {
  const { server, origin } = await listenOnLoopback();
  const issuer = `${origin}/oidc`;
  const clientId = 'patchbay-test';
  const clientSecret = randomBytes(24).toString('base64url');
  const provider = await createDemoProvider({
    issuer,
    clientId,
    clientSecret,
    redirectUris: [options.redirectUri].flat(),
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
  });
  const tokenRequests = { authorization_code: 0, refresh_token: 0 };
  provider.on('grant.success', (ctx) => {
    const grantType = (ctx.oidc.params?.grant_type ?? '') as keyof typeof tokenRequests;
    if (grantType in tokenRequests) tokenRequests[grantType] += 1;
  });
  const app = express();
  const pageHeaders = Object.entries(options.pageHeaders ?? {});
  if (pageHeaders.length > 0) {
    app.use(function providerPageHeaders(_req, res, next) {
      for (const [name, value] of pageHeaders) res.setHeader(name, value);
      next();
    });
  }
  app.use('/oidc', provider.callback());
  app.use('/api', demoThirdPartyApi(provider));
  server.on('request', app);
  return { issuer, apiBaseUrl: `${origin}/api`, provider, clientId, clientSecret, tokenRequests, close: () => closeServer(server) };
}

export interface TestPatchbay {
  origin: string;
  patchbay: Patchbay;
  config: Config;
  logs: LogCapture;
  dataDir: string;
  /** Makes an access key directly in the store (scopes default to a host backend's). */
  accessKey(scopes?: Scope[], extra?: { tenantId?: string; name?: string }): Promise<string>;
  close(): Promise<void>;
}

/**
 * Server tests run on SQLite by default; with PATCHBAY_TEST_DATABASE_URL=postgres://… the same tests
 * run on PostgreSQL, each server in a schema of its own (dropped afterwards).
 */
export const TEST_POSTGRES_URL = process.env.PATCHBAY_TEST_DATABASE_URL;
const CHECK_ANSWERS = process.env.PATCHBAY_CHECK_ANSWERS === '1';

function databaseFor(dataDir: string): Pick<Config, 'databaseUrl' | 'dbSchema'> {
  if (TEST_POSTGRES_URL) return { databaseUrl: TEST_POSTGRES_URL, dbSchema: `t_${randomBytes(6).toString('hex')}` };
  return { databaseUrl: `sqlite:${path.join(dataDir, 'patchbay.db')}`, dbSchema: null };
}

export async function dropTestSchema(config: Pick<Config, 'databaseUrl' | 'dbSchema'>): Promise<void> {
  if (!config.dbSchema || !config.databaseUrl.startsWith('postgres')) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${config.dbSchema}" CASCADE`);
  await client.end();
}

/**
 * Every setting at its production default, from the settings table (src/settings.ts). Loading the
 * configuration reads and writes nothing, so tests may call it freely.
 */
function productionConfig(): Config {
  return loadConfig([], { PATCHBAY_MASTER_KEY: randomBytes(32).toString('base64') });
}

/** The production defaults of the listener's timeouts (tests that cut slow clients pass smaller ones). */
const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = productionConfig();
export const SERVER_TIMEOUTS = { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs };

/** The production defaults, with what tests need instead: loopback, any port, a fresh store and key, fast upstream timeouts. */
export function testConfig(overrides: Partial<Config> & Pick<Config, 'publicUrl' | 'dataDir'>): Config {
  return {
    ...productionConfig(),
    port: 0,
    host: '127.0.0.1',
    ...databaseFor(overrides.dataDir),
    masterKeys: [{ id: 'test', key: randomBytes(32) }],
    logLevel: 'debug',
    upstreamTimeoutMs: 5000,
    authFailureLimit: 1000,
    workspace: { name: 'Acme Logistics', color: '#0f766e', iconUrl: null },
    ...overrides,
  };
}

/** A real Patchbay on loopback, on a fresh SQLite file, with its logs captured for secret checks. */
export async function startPatchbay(
  options: {
    declarations?: Declarations | ((origin: string) => Promise<Declarations>);
    config?: Partial<Config>;
    dev?: boolean;
    authMethods?: CustomAuthMethods;
    /** The webhook dispatcher's clock. */
    clock?: Clock;
  } = {},
): Promise<TestPatchbay> {
  // The listener gets the production limits (or the test's own) before it listens, as `listen` does.
  const { server, origin } = await listenOnLoopback((created) => applyServerLimits(created, { ...SERVER_TIMEOUTS, ...options.config }));
  const declarations = typeof options.declarations === 'function' ? await options.declarations(origin) : options.declarations;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-test-'));
  const config = testConfig({ publicUrl: origin, dataDir, dev: options.dev ?? false, ...options.config });
  const logs = new LogCapture();
  const patchbay = await createPatchbay(config, {
    logger: createLogger('debug', logs),
    ...(declarations ? { declarations } : {}),
    ...(options.authMethods ? { authMethods: options.authMethods } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // PATCHBAY_CHECK_ANSWERS=1: every answer of the test file is checked against the OpenAPI document.
  const answers = CHECK_ANSWERS ? new OpenApiAnswers(origin, buildOpenApiDocument(ROUTES, { serverUrl: origin })) : null;
  server.on('request', answers ? answers.listener(patchbay.app) : patchbay.app);
  let counter = 0;
  return {
    origin,
    patchbay,
    config,
    logs,
    dataDir,
    async accessKey(scopes = ['sessions:write', 'installs:read', 'installs:write', 'connectors:read'], extra = {}) {
      const { key } = await createAccessKey(patchbay.ctx, { name: extra.name ?? `test-key-${(counter += 1)}`, scopes, tenantId: extra.tenantId ?? null });
      return key;
    },
    async close() {
      await closeServer(server);
      await patchbay.close();
      await dropTestSchema(config);
      rmSync(dataDir, { recursive: true, force: true });
      if (answers?.problems.length) throw new Error(`answers that do not match /openapi.json:\n${answers.problems.join('\n')}`);
    },
  };
}

/** Declarations for one OAuth integration against a ThirdParty. */
export function oauthDeclarations(
  thirdParty: ThirdParty,
  options: { allowedOrigins: string[]; configFields?: Declarations['integrations'][number]['configFields'] },
): Declarations {
  return {
    connectors: [
      {
        slug: 'acme',
        name: 'Acme',
        description: 'Stand-in third party',
        baseUrl: thirdParty.apiBaseUrl,
        visibility: 'shared',
        authMethods: [
          {
            type: 'oauth2',
            issuer: thirdParty.issuer,
            clientId: thirdParty.clientId,
            clientSecret: thirdParty.clientSecret,
            scopes: ['openid', 'demo.read'],
            authorizeParams: {},
          },
        ],
        actions: {},
      },
    ],
    integrations: [
      {
        id: 'acme-sync',
        name: 'Acme sync',
        description: '',
        connectors: ['acme'],
        allowedOrigins: options.allowedOrigins,
        configFields: options.configFields ?? [],
        actions: { test: { connector: 'acme', method: 'GET', path: '/me', forwardBody: false } },
      },
    ],
  };
}
