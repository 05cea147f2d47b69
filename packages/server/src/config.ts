import { isIP } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseMasterKeys } from './crypto/master-key.js';
import { type Declarations, DeclarationsError, readDeclarationsFile, resolveSecret } from './declarations.js';
import { ConfigError, type Environment, FLAG_OPTIONS, readSettings, type Settings } from './settings.js';

export { ConfigError, type Environment } from './settings.js';
export { parseMasterKeys } from './crypto/master-key.js';

/**
 * Every setting, read once from flags and the environment (the table in settings.ts), checked,
 * completed with what follows from the others, and frozen. No other module reads process.env.
 * Loading writes nothing: dev mode leaves `masterKeys` null and the commands that run the server
 * read or make the data dir's key (crypto/master-key.ts resolveMasterKeys).
 */
export type Config = ReturnType<typeof complete>;

/** Splits argv into the flags of the settings table and positionals (the CLI's subcommands). */
export function parseFlags(argv: string[]) {
  return parseArgs({ args: argv, options: FLAG_OPTIONS, allowPositionals: true, strict: false });
}

export function loadConfig(argv: string[], env: Environment): Config {
  return complete(readSettings(parseFlags(argv).values, env), env);
}

/** The rules that span settings, and the values that follow from others. */
function complete(settings: Settings, env: Environment) {
  const { masterKey, workspaceName, workspaceColor, workspaceIconUrl, ...plain } = settings;
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
  if (!masterKey && !settings.dev) {
    throw new ConfigError(
      'PATCHBAY_MASTER_KEY is not set. Outside dev mode the server refuses to start without it.\n' +
        '  Make one with: patchbay master-key  (or: openssl rand -base64 32), then export PATCHBAY_MASTER_KEY=<it>',
    );
  }
  const configFile = settings.configFile ? path.resolve(settings.configFile) : null;

  return Object.freeze({
    ...plain,
    host,
    publicUrl,
    dataDir,
    databaseUrl: settings.databaseUrl ?? `sqlite:${path.join(dataDir, 'patchbay.db')}`,
    /** null in dev mode without PATCHBAY_MASTER_KEY: the runtime uses (or makes) `<dataDir>/master.key`. */
    masterKeys: masterKey ? parseMasterKeys(masterKey) : null,
    configFile,
    /** Connectors and integrations from the declarations file, secrets resolved; null when none is given. */
    declarations: configFile ? loadDeclarations(configFile, env) : (null as Declarations | null),
    workspace: { name: workspaceName, color: workspaceColor, iconUrl: workspaceIconUrl },
    // The server's own origin uses the cookie; listing it here would hand its pages a readable token.
    partnerEmbedOrigins: settings.partnerEmbedOrigins.filter((origin) => origin !== new URL(publicUrl).origin),
  });
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
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
