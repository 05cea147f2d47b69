/**
 * The remote commands' HTTP client: one access key from the environment, sent as a bearer token to
 * one server. Answers come back parsed; `{error: {code, message}}` answers become an ApiError, and a
 * server that cannot be reached becomes a ServerUnreachable naming the URL tried.
 */
import { SETTINGS } from '../settings.js';
import type { Environment } from '../settings.js';
import { UsageError, warn } from './output.js';

/** Where `patchbay start` listens when nothing else is said. */
export const DEFAULT_SERVER = `http://127.0.0.1:${SETTINGS.port.default}`;

const REQUEST_TIMEOUT_MS = 30_000;

/** The server answered with an error: printed as `error: <code>: <message>`, exit 1. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** No answer at all: refused, unknown host, timed out. */
export class ServerUnreachable extends Error {}

export type Query = Record<string, string | string[] | number | boolean | undefined>;

export interface Answer<T = unknown> {
  status: number;
  /** The parsed JSON answer; undefined for an empty one (204). */
  body: T | undefined;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}

export class ApiClient {
  private readonly base: URL;

  constructor(
    base: string,
    private readonly key: string,
  ) {
    // A trailing slash, so a server behind a path prefix (https://example.com/patchbay) keeps it.
    this.base = new URL(base.endsWith('/') ? base : `${base}/`);
  }

  /** The server's origin and path prefix, as the operator gave it. */
  get server(): string {
    return this.base.href.replace(/\/$/, '');
  }

  url(path: string, query: Query = {}): URL {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined || value === false) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    return url;
  }

  /** Sends one request; resolves with the raw response (for streams) once the headers arrived. */
  async send(method: string, path: string, options: { query?: Query; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(this.url(path, options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        redirect: 'manual',
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw this.unreachable(error);
    }
  }

  unreachable(error: unknown): ServerUnreachable {
    const cause = error instanceof Error ? ((error.cause ?? error) as { code?: string; message?: string }) : undefined;
    const reason =
      error instanceof DOMException && error.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.message);
    return new ServerUnreachable(
      `cannot reach the server at ${this.server}${reason ? ` (${reason})` : ''}. Is it running? Set --server or PATCHBAY_SERVER to its URL.`,
    );
  }

  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<Answer<T>> {
    const response = await this.send(method, path, options);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.unreachable(error);
    }
    const body = text === '' ? undefined : parseJson(text);
    if (response.ok) return { status: response.status, body: body as T };
    throw errorOf(response, body);
  }

  /** The ApiError of a refused answer whose body has not been read yet. */
  async failure(response: Response): Promise<ApiError> {
    const text = await response.text().catch(() => '');
    return errorOf(response, text === '' ? undefined : parseJson(text));
  }

  get<T>(path: string, query?: Query) {
    return this.request<T>('GET', path, query ? { query } : {});
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The server's `{error: {code, message}}`, or what can be said of an answer that is not one (a proxy's HTML page). */
function errorOf(response: Response, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string')
    return new ApiError(response.status, error.code, typeof error.message === 'string' ? error.message : response.statusText);
  return new ApiError(response.status, `http_${response.status}`, response.statusText || 'The server answered with an error.');
}

/**
 * The client for `--server` (else PATCHBAY_SERVER, else the default) with the key in
 * PATCHBAY_API_KEY. The key is only ever read from the environment: a flag would leave it in the
 * shell's history and in every process listing.
 */
export function clientFrom(flags: { server?: string | undefined }, env: Environment): ApiClient {
  const server = flags.server ?? env.PATCHBAY_SERVER ?? DEFAULT_SERVER;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server: "${server}" is not a URL; give one like ${DEFAULT_SERVER}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server: "${server}" is not an http(s) URL.`);
  const key = env.PATCHBAY_API_KEY?.trim();
  if (!key)
    throw new UsageError(
      'PATCHBAY_API_KEY is not set: export an access key with the scopes this command needs (make the first one with `patchbay keys create`).',
    );
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) warn(`warning: the access key is sent to ${url.host} over plain http; use https.`);
  return new ApiClient(url.href, key);
}
