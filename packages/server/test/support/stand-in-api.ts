import { createHmac } from 'node:crypto';
import { type IncomingMessage, type Server, validateHeaderValue } from 'node:http';
import { type CustomAuthMethod, defineAuthMethod } from '../../src/connectors/auth-methods.js';
import { closeServer, listenOnLoopback } from './harness.js';

/** The credentials the stand-in accepts, one way per auth method (and nothing else for that path). */
export const STAND_IN = {
  basic: { username: 'ada', password: 'correct horse battery staple' },
  bearer: 'bearer-token-0123456789',
  apiKey: 'api-key-abcdef-987654',
  custom: { clientId: 'client-42', secret: 'signing-secret-xyz' },
} as const;

/** The custom scheme: `X-Client` names the client, `X-Signature` is HMAC-SHA-256(secret, method + path). */
export function customSignature(secret: string, method: string, pathAndQuery: string): string {
  return createHmac('sha256', secret).update(`${method} ${pathAndQuery}`).digest('hex');
}

type Check = (req: IncomingMessage, url: URL) => boolean;

/** What the stand-in accepts right now; a test may rotate a credential (the provider revoked the old one). */
interface Accepted {
  basic: { username: string; password: string };
  bearer: string;
  apiKey: string;
  custom: { clientId: string; secret: string };
}

function checksFor(accepted: Accepted): Record<string, Check> {
  return {
    none: () => true,
    basic: (req) => req.headers.authorization === `Basic ${Buffer.from(`${accepted.basic.username}:${accepted.basic.password}`).toString('base64')}`,
    bearer: (req) => req.headers.authorization === `Bearer ${accepted.bearer}`,
    'api-key-header': (req) => req.headers['x-api-key'] === accepted.apiKey,
    'api-key-query': (_req, url) => url.searchParams.get('api_key') === accepted.apiKey,
    custom: (req, url) => {
      const path = url.pathname + url.search;
      return (
        req.headers['x-client'] === accepted.custom.clientId &&
        req.headers['x-signature'] === customSignature(accepted.custom.secret, req.method ?? 'GET', path)
      );
    },
  };
}

export interface StandInApi {
  /** `{origin}/{method}` is the base URL for a connector using that method. */
  origin: string;
  /** Every request the stand-in received, as `METHOD path?query`. */
  seen: string[];
  /** Replaces what the stand-in accepts from now on (the old credential stops working); `reset()` undoes it. */
  rotate(change: Partial<Accepted>): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A third-party API on loopback. Under `/{method}/…` it answers only to that method's credentials
 * (401 otherwise). `/{method}/me` says who called; `/{method}/slow` never answers;
 * `/{method}/stall` sends its headers and part of the body, then never finishes;
 * `/{method}/redirect?to=URL` redirects; `/{method}/echo` returns what it received (with the raw
 * request target); `/{method}/not-found` answers 404 quoting the raw request target, as many APIs do.
 */
export async function startStandInApi(): Promise<StandInApi> {
  const { server, origin } = await listenOnLoopback();
  const seen: string[] = [];
  const accepted: Accepted = structuredClone(STAND_IN) as Accepted;
  let checks = checksFor(accepted);
  const hanging = new Set<import('node:http').ServerResponse>();
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    const [, method, action] = url.pathname.split('/');
    const check = checks[method ?? ''];
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (!check) return send(404, { error: 'no such method' });
    if (!check(req, url)) return send(401, { ok: false, error: 'unauthorized' });
    if (action === 'slow') {
      hanging.add(res);
      return;
    }
    if (action === 'stall') {
      hanging.add(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"ok":');
      return;
    }
    if (action === 'not-found') return send(404, { error: `no route for ${req.url}` });
    if (action === 'redirect') {
      const location = url.searchParams.get('to') ?? '/';
      // A target that cannot be a header value (a control character, or text past Latin-1) is
      // refused, as a real API would, rather than thrown inside the handler and left unanswered.
      try {
        validateHeaderValue('location', location);
      } catch {
        return send(400, { error: 'invalid redirect target' });
      }
      return send(302, { ok: true }, { location });
    }
    if (action === 'echo') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () =>
        send(200, {
          ok: true,
          method: req.method,
          target: req.url,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body,
        }),
      );
      return;
    }
    return send(200, { ok: true, via: method, path: url.pathname });
  });
  return {
    origin,
    seen,
    rotate(change) {
      Object.assign(accepted, change);
      checks = checksFor(accepted);
    },
    reset() {
      Object.assign(accepted, structuredClone(STAND_IN));
      checks = checksFor(accepted);
    },
    async close() {
      for (const res of hanging) res.destroy();
      await closeServer(server as Server);
    },
  };
}

/**
 * The stand-in's custom scheme as an operator would register it: a client id and a request
 * signature. `refresh`, when given, is called after a 401 and answers the replacement values.
 */
export function signedRequests(refresh?: (values: Record<string, string>) => Promise<Record<string, string>>): CustomAuthMethod {
  return defineAuthMethod({
    fields: [
      { name: 'clientId', label: 'Client ID', secret: false },
      { name: 'secret', label: 'Signing secret', secret: true },
    ],
    apply(request, credentials) {
      request.headers.set('x-client', credentials.clientId!);
      request.headers.set('x-signature', customSignature(credentials.secret!, request.method, request.url.pathname + request.url.search));
    },
    ...(refresh ? { refresh } : {}),
  });
}
