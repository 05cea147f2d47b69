/**
 * The npm packages only the server and the local commands need: a remote command (a small HTTP
 * client) and `--help` load none of them, from the sources (cli-startup.test.ts) or the bundle
 * (cli-bundle.test.ts).
 */
export const SERVER_ONLY_PACKAGES = ['kysely', 'better-sqlite3', 'pg', 'express', 'openid-client', 'oidc-provider', 'jose', 'undici', 'pino', 'prom-client'];
