import type { AppContext } from '../context.js';
import type { CredentialBroker } from '../connections/service.js';
import { badRequest, HttpError } from '../http/errors.js';
import { applyCredentials, type CustomAuthMethods } from './auth-methods.js';
import type { Connector, PublicAuthMethod } from './catalog.js';

/**
 * Resolves a caller-supplied path under the connector's base URL, refusing anything that could
 * leave it: dot segments (plain or percent-encoded), encoded slashes and backslashes, absolute and
 * scheme-relative URLs, control characters. The final URL is checked against the base again.
 */
export function resolveUnderBase(baseUrl: string, rawPath: string): URL {
  const refuse = () => badRequest('path_not_allowed', "The path leaves the connector's base URL.");
  if (/[\u0000-\u001f\u007f\\]/.test(rawPath) || rawPath.startsWith('//')) throw refuse();
  const [pathPart = '', ...queryParts] = rawPath.split('?');
  // In the path (the query may carry them as data): encoded slashes and backslashes, encoded
  // control characters, and double-encoded dots and slashes for upstreams that decode twice.
  if (/%(2f|5c|[01][0-9a-f]|7f)|%25(2e|2f|5c)/i.test(pathPart)) throw refuse();
  for (const segment of pathPart.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw refuse();
    }
    if (decoded === '.' || decoded === '..' || /^[a-z][a-z0-9+.-]*:/i.test(decoded)) throw refuse();
  }
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const url = new URL(pathPart.replace(/^\/+/, '') + (queryParts.length ? `?${queryParts.join('?')}` : ''), base);
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname) || url.username || url.password) throw refuse();
  return url;
}

export interface UpstreamCall {
  connector: Connector;
  connectionId: string;
  method: string;
  /** Path (and optional query) relative to the connector's base URL, as the caller sent it. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | undefined;
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
 * (a redirect to another host is not a way out), the call times out, and an upstream 401 on an
 * OAuth connection triggers one refresh and one retry.
 */
export async function callUpstream(ctx: AppContext, broker: CredentialBroker, customs: CustomAuthMethods, call: UpstreamCall): Promise<Response> {
  const send = async (forceRefresh: boolean) => {
    const { credentials } = await broker.credentials(call.connectionId, { forceRefresh });
    const url = resolveUnderBase(call.connector.baseUrl, call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    const headers = new Headers(call.headers ?? {});
    await applyCredentials({ url, headers }, methodOf(call.connector, credentials.type), credentials, customs);
    try {
      const response = await fetch(url, { method: call.method, headers, body: call.body, redirect: 'manual', signal: AbortSignal.timeout(ctx.config.upstreamTimeoutMs) });
      return { response, oauth: credentials.type === 'oauth2' };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new HttpError(timedOut ? 504 : 502, timedOut ? 'upstream_timeout' : 'upstream_unreachable', timedOut ? 'The third-party API did not answer in time.' : 'The third-party API could not be reached.', { cause: error });
    }
  };
  const first = await send(false);
  if (first.response.status !== 401 || !first.oauth) return first.response;
  await first.response.body?.cancel();
  return (await send(true)).response;
}

/** Reads an upstream answer as JSON when it is JSON, else as text. */
export async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
