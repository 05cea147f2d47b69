import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { MasterKey } from './crypto/envelope.js';
import { type Declarations, DeclarationsError, readDeclarationsFile, resolveSecret } from './declarations.js';

/**
 * Every setting, read once from flags and the environment, validated, and frozen.
 * No other module reads process.env.
 */
export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string;
  /** PostgreSQL only: pool size per instance, statement timeout, and an optional schema. */
  dbPoolSize: number;
  dbStatementTimeoutMs: number;
  dbSchema: string | null;
  dev: boolean;
  masterKeys: MasterKey[];
  /** Set when dev mode generated the master key, so the caller can warn loudly. */
  generatedMasterKeyPath: string | null;
  configFile: string | null;
  /** Connectors and integrations from the declarations file, secrets resolved; null when none is given. */
  declarations: Declarations | null;
  logLevel: string;
  sessionTtlSeconds: number;
  /** Refresh an OAuth access token when it expires within this many seconds. */
  refreshMarginSeconds: number;
  /** A connection whose credentials will need the person within this many days shows as "expiring". */
  expiringSoonDays: number;
  upstreamTimeoutMs: number;
  /** Express `trust proxy`: false, a hop count, or a comma list of trusted proxy addresses/CIDRs. */
  trustProxy: boolean | number | string;
  /** How long a verified key stays cached; bounds how stale an inactivation can be on other instances. */
  keyCacheSeconds: number;
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  authEventRetentionDays: number;
  accessTokenTtlSeconds: number;
  /** How long a partner's one-time onboarding link stays valid. */
  partnerLinkTtlDays: number;
  /** How long a partner's portal session (after redeeming a link) lasts. */
  portalSessionMinutes: number;
  /** The largest event payload accepted, in bytes of JSON. */
  eventPayloadMaxBytes: number;
  /** Seconds between keep-alive comments on an event stream; each one also re-checks the caller's access. */
  eventHeartbeatSeconds: number;
  /** The workspace partners see on their onboarding page. */
  workspace: { name: string; color: string | null; iconUrl: string | null };
  /**
   * Host sites allowed to embed `<partner-onboarding link=…>`. A redemption from one of them gets a
   * portal session token the component holds in memory instead of the server's SameSite cookie.
   */
  partnerEmbedOrigins: string[];
  /**
   * How long a client may take to send its request headers, its whole request (body included),
   * and how long an idle keep-alive connection stays open. Event streams are not cut: their
   * request is complete once the headers are in.
   */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /**
   * The event log keeps events this many days and at most this many (the newest always stays: its
   * number is where the next one continues). Older ones are deleted by the hourly housekeeping.
   */
  eventRetentionDays: number;
  eventRetentionCount: number;
  /** An event stream whose reader lets more than this many bytes pile up is ended with a resume event. */
  eventStreamBufferBytes: number;
  /** Where `/metrics` is served without a key (an address Prometheus reaches, not the public); null: off. */
  metricsListen: { host: string; port: number } | null;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const flagOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  'public-url': { type: 'string' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'trust-proxy': { type: 'string' },
  dev: { type: 'boolean' },
} as const;

const settingsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(4400),
  host: z.string().min(1).optional(),
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  dataDir: z.string().min(1).default('.patchbay'),
  databaseUrl: z.string().min(1).optional(),
  configFile: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  dev: z.boolean().default(false),
  masterKey: z.string().min(1).optional(),
  sessionTtlSeconds: z.coerce.number().int().min(60).max(86_400).default(1800),
  refreshMarginSeconds: z.coerce.number().int().min(0).max(3600).default(60),
  expiringSoonDays: z.coerce.number().int().min(0).max(365).default(7),
  upstreamTimeoutMs: z.coerce.number().int().min(100).max(120_000).default(15_000),
  trustProxy: z
    .string()
    .default('false')
    .transform((value): boolean | number | string => (value === 'false' ? false : value === 'true' ? true : /^\d+$/.test(value) ? Number(value) : value)),
  keyCacheSeconds: z.coerce.number().min(0).max(60).default(2),
  authFailureLimit: z.coerce.number().int().min(1).max(100_000).default(20),
  authFailureWindowSeconds: z.coerce.number().int().min(1).max(86_400).default(60),
  authEventRetentionDays: z.coerce.number().int().min(1).max(3650).default(90),
  accessTokenTtlSeconds: z.coerce.number().int().min(60).max(86_400).default(900),
  dbPoolSize: z.coerce.number().int().min(1).max(200).default(10),
  dbStatementTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(15_000),
  dbSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _')
    .optional(),
  partnerLinkTtlDays: z.coerce.number().int().min(1).max(90).default(7),
  portalSessionMinutes: z.coerce
    .number()
    .int()
    .min(5)
    .max(24 * 60)
    .default(30),
  eventPayloadMaxBytes: z.coerce.number().int().min(256).max(1_048_576).default(65_536),
  eventHeartbeatSeconds: z.coerce.number().int().min(1).max(300).default(15),
  workspaceName: z.string().min(1).max(100).default('Patchbay'),
  workspaceColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #0f766e')
    .optional(),
  workspaceIconUrl: z.url({ protocol: /^https?$/ }).optional(),
  partnerEmbedOrigins: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().refine(isExactOrigin, 'an origin like https://app.example.com (scheme, host and port only)'))),
  headersTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
  requestTimeoutMs: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  keepAliveTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(5_000),
  eventRetentionDays: z.coerce.number().int().min(1).max(3650).default(30),
  eventRetentionCount: z.coerce.number().int().min(1000).max(1_000_000_000).default(10_000_000),
  eventStreamBufferBytes: z.coerce.number().int().min(16_384).max(268_435_456).default(4_194_304),
  metricsListen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'host:port, like 127.0.0.1:9464 or [::1]:9464')
    .transform((value) => {
      const colon = value.lastIndexOf(':');
      return { host: value.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(value.slice(colon + 1)) };
    })
    .refine((address) => address.port <= 65535, 'a port up to 65535')
    .optional(),
});

/** `https://app.example.com` or `http://localhost:3000`: what a browser sends as `Origin`, nothing more. */
function isExactOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

export type Environment = Record<string, string | undefined>;

/** Splits argv into the flags this module knows and positionals (the CLI's subcommands). */
export function parseFlags(argv: string[]) {
  return parseArgs({ args: argv, options: flagOptions, allowPositionals: true, strict: false });
}

function pickString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function loadConfig(argv: string[], env: Environment): Config {
  const { values } = parseFlags(argv);
  const devFlag = values.dev === true || env.PATCHBAY_DEV === '1' || env.PATCHBAY_DEV === 'true';
  const parsed = settingsSchema.safeParse({
    port: pickString(values.port) ?? pickString(env.PORT),
    host: pickString(values.host) ?? pickString(env.PATCHBAY_HOST),
    publicUrl: pickString(values['public-url']) ?? pickString(env.PATCHBAY_PUBLIC_URL),
    dataDir: pickString(values['data-dir']) ?? pickString(env.PATCHBAY_DATA_DIR),
    databaseUrl: pickString(values['database-url']) ?? pickString(env.DATABASE_URL),
    configFile: pickString(values.config) ?? pickString(env.PATCHBAY_CONFIG),
    logLevel: pickString(values['log-level']) ?? pickString(env.PATCHBAY_LOG_LEVEL),
    dev: devFlag,
    masterKey: pickString(env.PATCHBAY_MASTER_KEY),
    sessionTtlSeconds: pickString(env.PATCHBAY_SESSION_TTL_SECONDS),
    refreshMarginSeconds: pickString(env.PATCHBAY_REFRESH_MARGIN_SECONDS),
    expiringSoonDays: pickString(env.PATCHBAY_EXPIRING_SOON_DAYS),
    upstreamTimeoutMs: pickString(env.PATCHBAY_UPSTREAM_TIMEOUT_MS),
    trustProxy: pickString(values['trust-proxy']) ?? pickString(env.PATCHBAY_TRUST_PROXY),
    keyCacheSeconds: pickString(env.PATCHBAY_KEY_CACHE_SECONDS),
    authFailureLimit: pickString(env.PATCHBAY_AUTH_FAILURE_LIMIT),
    authFailureWindowSeconds: pickString(env.PATCHBAY_AUTH_FAILURE_WINDOW_SECONDS),
    authEventRetentionDays: pickString(env.PATCHBAY_AUTH_EVENT_RETENTION_DAYS),
    accessTokenTtlSeconds: pickString(env.PATCHBAY_ACCESS_TOKEN_TTL_SECONDS),
    dbPoolSize: pickString(env.PATCHBAY_DB_POOL_SIZE),
    dbStatementTimeoutMs: pickString(env.PATCHBAY_DB_STATEMENT_TIMEOUT_MS),
    dbSchema: pickString(env.PATCHBAY_DB_SCHEMA),
    partnerLinkTtlDays: pickString(env.PATCHBAY_PARTNER_LINK_TTL_DAYS),
    portalSessionMinutes: pickString(env.PATCHBAY_PORTAL_SESSION_MINUTES),
    eventPayloadMaxBytes: pickString(env.PATCHBAY_EVENT_PAYLOAD_MAX_BYTES),
    eventHeartbeatSeconds: pickString(env.PATCHBAY_EVENT_HEARTBEAT_SECONDS),
    workspaceName: pickString(env.PATCHBAY_WORKSPACE_NAME),
    workspaceColor: pickString(env.PATCHBAY_WORKSPACE_COLOR),
    workspaceIconUrl: pickString(env.PATCHBAY_WORKSPACE_ICON_URL),
    partnerEmbedOrigins: pickString(env.PATCHBAY_PARTNER_EMBED_ORIGINS),
    headersTimeoutMs: pickString(env.PATCHBAY_HEADERS_TIMEOUT_MS),
    requestTimeoutMs: pickString(env.PATCHBAY_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: pickString(env.PATCHBAY_KEEP_ALIVE_TIMEOUT_MS),
    metricsListen: pickString(env.PATCHBAY_METRICS_LISTEN),
    eventRetentionDays: pickString(env.PATCHBAY_EVENT_RETENTION_DAYS),
    eventRetentionCount: pickString(env.PATCHBAY_EVENT_RETENTION_COUNT),
    eventStreamBufferBytes: pickString(env.PATCHBAY_STREAM_BUFFER_BYTES),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || 'setting'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const settings = parsed.data;
  // Node refuses a headers timeout above the request timeout: the headers are part of the request.
  if (settings.headersTimeoutMs > settings.requestTimeoutMs) {
    throw new ConfigError('PATCHBAY_HEADERS_TIMEOUT_MS must not exceed PATCHBAY_REQUEST_TIMEOUT_MS.');
  }
  const dataDir = path.resolve(settings.dataDir);
  // Dev mode listens on loopback only: the demo provider and demo host routes must never be reachable from outside.
  const host = settings.host ?? (settings.dev ? '127.0.0.1' : '0.0.0.0');
  if (settings.dev && !isLoopbackHost(host)) {
    throw new ConfigError('Dev mode (--dev) serves a demo OAuth provider and must listen on loopback only (--host 127.0.0.1).');
  }
  const publicUrl = (settings.publicUrl ?? `http://localhost:${settings.port}`).replace(/\/+$/, '');

  let masterKeys: MasterKey[];
  let generatedMasterKeyPath: string | null = null;
  if (settings.masterKey) {
    masterKeys = parseMasterKeys(settings.masterKey);
  } else if (settings.dev) {
    const loaded = loadOrCreateDevMasterKey(dataDir);
    masterKeys = [loaded.key];
    generatedMasterKeyPath = loaded.created ? loaded.path : null;
  } else {
    throw new ConfigError(
      'PATCHBAY_MASTER_KEY is not set. Outside dev mode the server refuses to start without it.\n' +
        '  Make one with: patchbay master-key  (or: openssl rand -base64 32), then export PATCHBAY_MASTER_KEY=<it>',
    );
  }

  return Object.freeze({
    port: settings.port,
    host,
    publicUrl,
    dataDir,
    databaseUrl: settings.databaseUrl ?? `sqlite:${path.join(dataDir, 'patchbay.db')}`,
    dbPoolSize: settings.dbPoolSize,
    dbStatementTimeoutMs: settings.dbStatementTimeoutMs,
    dbSchema: settings.dbSchema ?? null,
    dev: settings.dev,
    masterKeys,
    generatedMasterKeyPath,
    configFile: settings.configFile ? path.resolve(settings.configFile) : null,
    declarations: settings.configFile ? loadDeclarations(path.resolve(settings.configFile), env) : null,
    logLevel: settings.logLevel,
    sessionTtlSeconds: settings.sessionTtlSeconds,
    refreshMarginSeconds: settings.refreshMarginSeconds,
    expiringSoonDays: settings.expiringSoonDays,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    trustProxy: settings.trustProxy,
    keyCacheSeconds: settings.keyCacheSeconds,
    authFailureLimit: settings.authFailureLimit,
    authFailureWindowSeconds: settings.authFailureWindowSeconds,
    authEventRetentionDays: settings.authEventRetentionDays,
    accessTokenTtlSeconds: settings.accessTokenTtlSeconds,
    partnerLinkTtlDays: settings.partnerLinkTtlDays,
    portalSessionMinutes: settings.portalSessionMinutes,
    eventPayloadMaxBytes: settings.eventPayloadMaxBytes,
    eventHeartbeatSeconds: settings.eventHeartbeatSeconds,
    workspace: { name: settings.workspaceName, color: settings.workspaceColor ?? null, iconUrl: settings.workspaceIconUrl ?? null },
    // The server's own origin uses the cookie; listing it here would hand its pages a readable token.
    partnerEmbedOrigins: settings.partnerEmbedOrigins.filter((origin) => origin !== new URL(publicUrl).origin),
    headersTimeoutMs: settings.headersTimeoutMs,
    requestTimeoutMs: settings.requestTimeoutMs,
    keepAliveTimeoutMs: settings.keepAliveTimeoutMs,
    metricsListen: settings.metricsListen ?? null,
    eventRetentionDays: settings.eventRetentionDays,
    eventRetentionCount: settings.eventRetentionCount,
    eventStreamBufferBytes: settings.eventStreamBufferBytes,
  });
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * `PATCHBAY_MASTER_KEY` is one base64 key of 32 bytes, or several as `id:base64,id:base64`
 * (the first encrypts, all decrypt) while a rotation is under way.
 */
export function parseMasterKeys(text: string): MasterKey[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys = entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : `k${index + 1}`;
    const key = Buffer.from(colon > 0 ? entry.slice(colon + 1) : entry, 'base64');
    if (key.length !== 32) throw new ConfigError(`PATCHBAY_MASTER_KEY: key "${id}" must be 32 bytes of base64 (openssl rand -base64 32).`);
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new ConfigError(`PATCHBAY_MASTER_KEY: key id "${id}" may hold letters, digits, _ and - only.`);
    return { id, key };
  });
  if (keys.length === 0) throw new ConfigError('PATCHBAY_MASTER_KEY is empty.');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new ConfigError('PATCHBAY_MASTER_KEY: key ids must be unique.');
  return keys;
}

function loadOrCreateDevMasterKey(dataDir: string): { key: MasterKey; path: string; created: boolean } {
  const file = path.join(dataDir, 'master.key');
  if (existsSync(file)) {
    const [key] = parseMasterKeys(readFileSync(file, 'utf8'));
    return { key: key!, path: file, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const key = { id: 'dev', key: randomBytes(32) };
  writeFileSync(file, `dev:${key.key.toString('base64')}\n`, { mode: 0o600 });
  return { key, path: file, created: true };
}

function loadDeclarations(file: string, env: Environment): Declarations {
  try {
    const declarations = readDeclarationsFile(file);
    for (const connector of declarations.connectors) {
      for (const method of connector.authMethods) {
        if (method.type === 'oauth2') method.clientSecret = resolveSecret(method.clientSecret, env, `connector ${connector.slug}`);
      }
    }
    return declarations;
  } catch (error) {
    if (error instanceof DeclarationsError) throw new ConfigError(error.message);
    throw error;
  }
}
