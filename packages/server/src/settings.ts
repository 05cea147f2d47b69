import { z } from 'zod';
import { type Setting, setting, whole } from './settings-kit.js';
import { HEALTH_SETTINGS, WEBHOOK_SETTINGS } from './settings-background.js';

/**
 * Every setting of the server, each written once: where it is read from (an environment variable,
 * and a flag where an operator passes it on the command line), how it is checked, its default and
 * one line of help. `Config` (config.ts), `patchbay start --help` and the README's settings section
 * are all made from this table — add a setting here and nowhere else.
 */
export type { Setting } from './settings-kit.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A setting that may be left unset: its value is then null. */
function orNull<S extends z.ZodType>(schema: S) {
  return schema.optional().transform((value) => value ?? null);
}

/** `https://app.example.com` or `http://localhost:3000`: what a browser sends as `Origin`, nothing more. */
function isExactOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

export const SETTINGS = {
  port: setting({ env: 'PORT', flag: 'port', default: '4400', schema: whole(0, 65535), help: 'The port to listen on.' }),
  host: setting({
    env: 'PATCHBAY_HOST',
    flag: 'host',
    otherwise: '0.0.0.0, or 127.0.0.1 in dev mode',
    schema: orNull(z.string().min(1)),
    help: 'The address to listen on; dev mode allows loopback only.',
  }),
  publicUrl: setting({
    env: 'PATCHBAY_PUBLIC_URL',
    flag: 'public-url',
    otherwise: '`http://localhost:<port>`',
    schema: orNull(z.url({ protocol: /^https?$/ })),
    help: 'The origin browsers reach the server at.',
  }),
  dataDir: setting({
    env: 'PATCHBAY_DATA_DIR',
    flag: 'data-dir',
    default: '.patchbay',
    schema: z.string().min(1),
    help: 'Where the SQLite database (and the dev master key) live.',
  }),
  databaseUrl: setting({
    env: 'DATABASE_URL',
    flag: 'database-url',
    otherwise: '`sqlite:<data-dir>/patchbay.db`',
    schema: orNull(z.string().min(1)),
    help: '`sqlite:<file>`, or `postgres://…` for PostgreSQL.',
  }),
  configFile: setting({
    env: 'PATCHBAY_CONFIG',
    flag: 'config',
    otherwise: 'none (dev mode uses the demo)',
    schema: orNull(z.string().min(1)),
    help: 'The declarations file: connectors and integrations (`patchbay.config.json`).',
  }),
  masterKey: setting({
    env: 'PATCHBAY_MASTER_KEY',
    otherwise: 'none: required outside dev mode',
    schema: orNull(z.string().min(1)),
    help: '32 bytes of base64 (`patchbay master-key`); `id:base64,id:base64` during rotation, the first encrypts.',
  }),
  dev: setting({
    env: 'PATCHBAY_DEV',
    flag: 'dev',
    switch: true,
    default: 'false',
    schema: z.string().transform((value) => value === '1' || value === 'true'),
    help: 'Runs the demo on loopback, with a master key kept in the data dir (`PATCHBAY_DEV=1`).',
  }),
  logLevel: setting({
    env: 'PATCHBAY_LOG_LEVEL',
    flag: 'log-level',
    default: 'info',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    help: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
  }),
  trustProxy: setting({
    env: 'PATCHBAY_TRUST_PROXY',
    flag: 'trust-proxy',
    default: 'false',
    schema: z
      .string()
      .transform((value): boolean | number | string => (value === 'false' ? false : value === 'true' ? true : /^\d+$/.test(value) ? Number(value) : value)),
    help: 'Express `trust proxy`: `false`, `true`, a hop count, or a comma list of proxy addresses/CIDRs.',
  }),
  sessionTtlSeconds: setting({
    env: 'PATCHBAY_SESSION_TTL_SECONDS',
    default: '1800',
    schema: whole(60, 86_400),
    help: 'How long a connect session stays open.',
  }),
  refreshMarginSeconds: setting({
    env: 'PATCHBAY_REFRESH_MARGIN_SECONDS',
    default: '60',
    schema: whole(0, 3600),
    help: 'An OAuth access token is refreshed when it expires within this many seconds.',
  }),
  expiringSoonDays: setting({
    env: 'PATCHBAY_EXPIRING_SOON_DAYS',
    default: '7',
    schema: whole(0, 365),
    help: 'A connection that will need the person within this many days shows as "expiring" (0: never).',
  }),
  ...HEALTH_SETTINGS,
  upstreamTimeoutMs: setting({
    env: 'PATCHBAY_UPSTREAM_TIMEOUT_MS',
    default: '15000',
    schema: whole(100, 120_000),
    help: 'How long a call to a third party (token endpoint, proxied API) may take.',
  }),
  ...WEBHOOK_SETTINGS,
  keyCacheSeconds: setting({
    env: 'PATCHBAY_KEY_CACHE_SECONDS',
    default: '2',
    schema: z.coerce.number().min(0).max(60),
    help: 'How long a verified key stays cached: bounds how late other instances see an inactivation.',
  }),
  connectionCacheSeconds: setting({
    env: 'PATCHBAY_CONNECTION_CACHE_SECONDS',
    default: '2',
    schema: z.coerce.number().min(0).max(60),
    help: 'Proxy calls and actions reuse connections, installs and integrations this long: how late others see a change.',
  }),
  authFailureLimit: setting({
    env: 'PATCHBAY_AUTH_FAILURE_LIMIT',
    default: '20',
    schema: whole(1, 100_000),
    help: 'Failed authentications one client address may make per window before it is refused.',
  }),
  authFailureWindowSeconds: setting({
    env: 'PATCHBAY_AUTH_FAILURE_WINDOW_SECONDS',
    default: '60',
    schema: whole(1, 86_400),
    help: 'The window of the failure limit.',
  }),
  authEventRetentionDays: setting({
    env: 'PATCHBAY_AUTH_EVENT_RETENTION_DAYS',
    default: '90',
    schema: whole(1, 3650),
    help: 'How long authentication events are kept.',
  }),
  accessTokenTtlSeconds: setting({
    env: 'PATCHBAY_ACCESS_TOKEN_TTL_SECONDS',
    default: '900',
    schema: whole(60, 86_400),
    help: 'How long a short-lived access token lasts when the request names no lifetime.',
  }),
  dbPoolSize: setting({ env: 'PATCHBAY_DB_POOL_SIZE', default: '10', schema: whole(1, 200), help: 'PostgreSQL: connections per instance.' }),
  dbStatementTimeoutMs: setting({
    env: 'PATCHBAY_DB_STATEMENT_TIMEOUT_MS',
    default: '15000',
    schema: whole(100, 600_000),
    help: 'PostgreSQL: the longest a statement may run.',
  }),
  dbSchema: setting({
    env: 'PATCHBAY_DB_SCHEMA',
    otherwise: 'none (the search path)',
    schema: orNull(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _')),
    help: 'PostgreSQL: a schema of its own, created when missing.',
  }),
  partnerLinkTtlDays: setting({
    env: 'PATCHBAY_PARTNER_LINK_TTL_DAYS',
    default: '7',
    schema: whole(1, 90),
    help: 'How long a partner’s one-time onboarding link stays valid.',
  }),
  portalSessionMinutes: setting({
    env: 'PATCHBAY_PORTAL_SESSION_MINUTES',
    default: '30',
    schema: whole(5, 24 * 60),
    help: 'How long a partner’s portal session lasts after the link is redeemed.',
  }),
  eventPayloadMaxBytes: setting({
    env: 'PATCHBAY_EVENT_PAYLOAD_MAX_BYTES',
    default: '65536',
    schema: whole(256, 1_048_576),
    help: 'The largest event payload accepted, in bytes of JSON.',
  }),
  eventHeartbeatSeconds: setting({
    env: 'PATCHBAY_EVENT_HEARTBEAT_SECONDS',
    default: '15',
    schema: whole(1, 300),
    help: 'Seconds between keep-alive comments on an event stream; each re-checks the caller’s access.',
  }),
  eventRetentionDays: setting({
    env: 'PATCHBAY_EVENT_RETENTION_DAYS',
    default: '30',
    schema: whole(1, 3650),
    help: 'Events older than this many days are deleted (in small batches; the newest is always kept).',
  }),
  eventRetentionCount: setting({
    env: 'PATCHBAY_EVENT_RETENTION_COUNT',
    default: '10000000',
    schema: whole(1000, 1_000_000_000),
    help: 'At most this many events are kept; the oldest go first.',
  }),
  eventStreamBufferBytes: setting({
    env: 'PATCHBAY_STREAM_BUFFER_BYTES',
    default: '4194304',
    schema: whole(16_384, 268_435_456),
    help: 'Bytes an event stream may hold for a slow reader before it ends with a resume event.',
  }),
  workspaceName: setting({
    env: 'PATCHBAY_WORKSPACE_NAME',
    default: 'Patchbay',
    schema: z.string().min(1).max(100),
    help: 'The workspace partners see on their onboarding page.',
  }),
  workspaceColor: setting({
    env: 'PATCHBAY_WORKSPACE_COLOR',
    otherwise: 'none',
    schema: orNull(z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #0f766e')),
    help: 'Its colour, like `#0f766e`.',
  }),
  workspaceIconUrl: setting({
    env: 'PATCHBAY_WORKSPACE_ICON_URL',
    otherwise: 'none',
    schema: orNull(z.url({ protocol: /^https?$/ })),
    help: 'Its icon (an http(s) URL).',
  }),
  partnerEmbedOrigins: setting({
    env: 'PATCHBAY_PARTNER_EMBED_ORIGINS',
    default: '',
    schema: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().refine(isExactOrigin, 'an origin like https://app.example.com (scheme, host and port only)'))),
    help: 'Host sites (exact origins, comma-separated) that may embed `<partner-onboarding link=…>`.',
  }),
  headersTimeoutMs: setting({
    env: 'PATCHBAY_HEADERS_TIMEOUT_MS',
    default: '10000',
    schema: whole(100, 600_000),
    help: 'A client that has not sent its request headers by then gets `408` and is disconnected.',
  }),
  requestTimeoutMs: setting({
    env: 'PATCHBAY_REQUEST_TIMEOUT_MS',
    default: '30000',
    schema: whole(100, 3_600_000),
    help: 'The same for the whole request, body included (event streams are not cut).',
  }),
  keepAliveTimeoutMs: setting({
    env: 'PATCHBAY_KEEP_ALIVE_TIMEOUT_MS',
    default: '5000',
    schema: whole(100, 600_000),
    help: 'How long an idle keep-alive connection stays open.',
  }),
  metricsListen: setting({
    env: 'PATCHBAY_METRICS_LISTEN',
    otherwise: 'none',
    schema: orNull(
      z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'host:port, like 127.0.0.1:9464 or [::1]:9464')
        .transform((value) => {
          const colon = value.lastIndexOf(':');
          return { host: value.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(value.slice(colon + 1)) };
        })
        .refine((address) => address.port <= 65535, 'a port up to 65535'),
    ),
    help: '`host:port` (like `127.0.0.1:9464`) where `/metrics` is served without a key, for Prometheus.',
  }),
};

export type SettingName = keyof typeof SETTINGS;

const shape = Object.fromEntries(Object.entries(SETTINGS).map(([name, entry]) => [name, entry.schema])) as {
  [K in SettingName]: (typeof SETTINGS)[K]['schema'];
};
const settingsSchema = z.object(shape);

/** Every setting, read and checked; the cross-setting rules and derived values are config.ts's. */
export type Settings = z.output<typeof settingsSchema>;

export type Environment = Record<string, string | undefined>;
export type Flags = Record<string, string | boolean | undefined>;

/** The node:util parseArgs options for every setting that has a flag. */
export const FLAG_OPTIONS = Object.fromEntries(
  Object.values(SETTINGS as Record<string, Setting>)
    .filter((entry) => entry.flag)
    .map((entry) => [entry.flag!, { type: entry.switch ? ('boolean' as const) : ('string' as const) }]),
);

/** An empty value counts as unset, as an empty `FOO=` in a unit file means. */
function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Reads every setting: the flag wins over the variable, which wins over the default. Reads nothing else. */
export function readSettings(flags: Flags, env: Environment): Settings {
  const input: Record<string, string | undefined> = {};
  for (const [name, entry] of Object.entries(SETTINGS as Record<string, Setting>)) {
    const flag = entry.flag === undefined ? undefined : entry.switch ? (flags[entry.flag] === true ? 'true' : undefined) : textOf(flags[entry.flag]);
    input[name] = flag ?? textOf(env[entry.env]) ?? entry.default;
  }
  const parsed = settingsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const entry = (SETTINGS as Record<string, Setting>)[String(issue.path[0])];
    const where = entry ? ` (${[entry.env, entry.flag && `--${entry.flag}`].filter(Boolean).join(', ')})` : '';
    return `  ${issue.path.join('.') || 'setting'}${where}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}
