import type { AppContext } from '../context.js';
import type { CredentialBroker } from '../connections/broker.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../http/body.js';
import { badRequest, HttpError } from '../http/errors.js';
import { applyCredentials, type Credentials, type CustomAuthMethods } from './auth-methods.js';
import type { ConnectionsTable } from '../store/schema.js';
import type { Connector, PublicAuthMethod } from './catalog.js';
import { sendUpstream, UpstreamTimeout, type UpstreamResponse } from './upstream-client.js';

export type { UpstreamResponse };

/** Decodes only `%XX` escapes of ASCII characters; never throws, and shortens the text whenever it changes anything. */
function decodeAsciiEscapes(text: string): string {
  return text.replace(/%([0-7][0-9a-f])/gi, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Connectors' base URLs, parsed once each (with the trailing slash a relative path resolves under):
 * every proxied call resolves against one. Only read, never changed: a call builds its own URL.
 * Bounded, since an operator can change a connector's base URL any number of times.
 */
const parsedBases = new Map<string, URL>();

function parsedBase(baseUrl: string): URL {
  let base = parsedBases.get(baseUrl);
  if (!base) {
    if (parsedBases.size >= 1000) parsedBases.clear();
    base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    parsedBases.set(baseUrl, base);
  }
  return base;
}

/**
 * Resolves a caller-supplied path under the connector's base URL, refusing anything that could
 * leave it: dot segments (plain or percent-encoded any number of times), encoded slashes and
 * backslashes, absolute and scheme-relative URLs, control characters. The final URL is checked
 * against the base again.
 */
export function resolveUnderBase(baseUrl: string, rawPath: string): URL {
  const refuse = () => badRequest('path_not_allowed', "The path leaves the connector's base URL.");
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f\\]/.test(rawPath) || rawPath.startsWith('//')) throw refuse();
  const [rawPathPart = '', ...queryParts] = rawPath.split('?');
  // Leading slashes are dropped, so the first segment checked is the one that starts the URL.
  const pathPart = rawPathPart.replace(/^\/+/, '');
  pathPart.split('/').forEach((segment, index) => {
    try {
      // Malformed escapes (and overlong UTF-8 such as %c0%ae, a dot to some old decoders) are refused.
      decodeURIComponent(segment);
    } catch {
      throw refuse();
    }
    // Decoded until it stops changing, because an upstream (or a proxy in front of it) may decode
    // more than once: `%252e%252e` and `%25252e%25252e` are `..` to someone. Only the path is
    // checked this way: the query may carry encoded slashes as data.
    for (let decoded = segment, previous = ''; decoded !== previous; previous = decoded, decoded = decodeAsciiEscapes(decoded)) {
      // eslint-disable-next-line no-control-regex -- as above: a decoded control character is refused
      if (decoded === '.' || decoded === '..' || /[/\\\u0000-\u001f\u007f]/.test(decoded)) throw refuse();
      // Only the first segment can turn a relative reference into an absolute URL
      // (`http:`, `javascript:`); a colon later on is ordinary data (`sheets/abc:batchUpdate`).
      if (index === 0 && /^[a-z][a-z0-9+.-]*:/i.test(decoded)) throw refuse();
    }
  });
  const base = parsedBase(baseUrl);
  const url = new URL(pathPart + (queryParts.length ? `?${queryParts.join('?')}` : ''), base.href);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname) || url.username || url.password) throw refuse();
  return url;
}

export interface UpstreamCall {
  connector: Connector;
  /** The stored connection whose credentials are applied (refreshed as needed)… */
  connectionId?: string;
  /** The connection's row when the caller has just read it, so it is not read again. */
  connection?: ConnectionsTable | undefined;
  /** …or credentials not stored yet (checking typed-in credentials): used as they are, never refreshed. */
  credentials?: Credentials;
  method: string;
  /** Path (and optional query) relative to the connector's base URL, as the caller sent it. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer | undefined;
}

/** Request headers a caller may pass through the proxy; everything else (cookies, auth, hop-by-hop) is dropped. */
export const FORWARDED_REQUEST_HEADERS = ['accept', 'accept-language', 'content-type', 'if-match', 'if-none-match', 'if-modified-since', 'x-request-id'];

function methodOf(connector: Connector, credentialsType: string): PublicAuthMethod {
  const method = connector.authMethods.find((candidate) => candidate.type === credentialsType);
  if (!method) throw new HttpError(409, 'method_not_supported', `Connector ${connector.slug} no longer offers ${credentialsType}.`);
  return method;
}

/**
 * Sends one request upstream with the connection's credentials applied. Redirects are not followed
 * (a redirect to another host is not a way out), and the whole exchange, body included, times out:
 * an upstream that sends its headers and then stalls must not hang the caller either. An upstream
 * 401 triggers one refresh and one retry, for OAuth and for custom methods that can refresh.
 */
export async function callUpstream(
  deps: Pick<AppContext, 'config' | 'metrics' | 'requestLog'>,
  broker: CredentialBroker,
  customs: CustomAuthMethods,
  call: UpstreamCall,
): Promise<UpstreamResponse> {
  const send = async (forceRefresh: boolean) => {
    const credentials =
      call.credentials ?? (await broker.credentials(call.connectionId!, { forceRefresh, ...(forceRefresh ? {} : { row: call.connection }) })).credentials;
    const url = resolveUnderBase(call.connector.baseUrl, call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    const headers = new Headers(call.headers ?? {});
    await applyCredentials({ method: call.method, url, headers }, methodOf(call.connector, credentials.type), credentials, customs);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    // The one place calls made with a stored connection are logged (memory only; written in batches).
    const logCall = (status: number | null) =>
      call.connectionId && deps.requestLog.record({ connectionId: call.connectionId, method: call.method, url, status, durationMs: seconds() * 1000 });
    const failure = (error: unknown) => {
      const timedOut = error instanceof UpstreamTimeout;
      deps.metrics.recordUpstream(call.connector.slug, timedOut ? 'timeout' : 'unreachable', seconds());
      logCall(null);
      // Exposed although 5xx: the caller (and a person at the credential form) must learn that the
      // third party, not Patchbay, failed; the messages are fixed and carry nothing from the request.
      return new HttpError(
        timedOut ? 504 : 502,
        timedOut ? 'upstream_timeout' : 'upstream_unreachable',
        timedOut ? 'The third-party API did not answer in time.' : 'The third-party API could not be reached.',
        { cause: error, expose: true },
      );
    };
    const response = await sendUpstream(url, { method: call.method, headers, body: call.body, timeoutMs: deps.config.upstreamTimeoutMs }, failure);
    deps.metrics.recordUpstream(call.connector.slug, response.status, seconds());
    logCall(response.status);
    const refreshable = credentials.type === 'oauth2' || (credentials.type === 'custom' && customs[credentials.handler]?.refresh !== undefined);
    return { response, refreshable };
  };
  const first = await send(false);
  if (first.response.status !== 401 || !first.refreshable || call.credentials) return first.response;
  first.response.rest?.destroy();
  return (await send(true)).response;
}

/**
 * Reads an upstream answer as JSON when it is JSON, else as text. JSON nested deeper than any
 * request body may be stays text: re-serialising it into our answer would overflow the stack.
 */
export async function readBody(response: Pick<UpstreamResponse, 'text'>): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    const parsed = JSON.parse(text) as unknown;
    return nestsDeeperThan(parsed, MAX_JSON_DEPTH) ? text : parsed;
  } catch {
    return text;
  }
}
