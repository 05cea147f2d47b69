import { createHmac } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
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

const checks: Record<string, Check> = {
  none: () => true,
  basic: (req) => req.headers.authorization === `Basic ${Buffer.from(`${STAND_IN.basic.username}:${STAND_IN.basic.password}`).toString('base64')}`,
  bearer: (req) => req.headers.authorization === `Bearer ${STAND_IN.bearer}`,
  'api-key-header': (req) => req.headers['x-api-key'] === STAND_IN.apiKey,
  'api-key-query': (_req, url) => url.searchParams.get('api_key') === STAND_IN.apiKey,
  custom: (req, url) => {
    const path = url.pathname + url.search;
    return req.headers['x-client'] === STAND_IN.custom.clientId && req.headers['x-signature'] === customSignature(STAND_IN.custom.secret, req.method ?? 'GET', path);
  },
};

export interface StandInApi {
  /** `{origin}/{method}` is the base URL for a connector using that method. */
  origin: string;
  /** Every request the stand-in received, as `METHOD path?query`. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A third-party API on loopback. Under `/{method}/…` it answers only to that method's credentials
 * (401 otherwise). `/{method}/me` says who called; `/{method}/slow` never answers;
 * `/{method}/redirect?to=URL` redirects; `/{method}/echo` returns what it received.
 */
export async function startStandInApi(): Promise<StandInApi> {
  const { server, origin } = await listenOnLoopback();
  const seen: string[] = [];
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
    if (action === 'redirect') return send(302, { ok: true }, { location: url.searchParams.get('to') ?? '/' });
    if (action === 'echo') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => send(200, { ok: true, method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body }));
      return;
    }
    return send(200, { ok: true, via: method, path: url.pathname });
  });
  return {
    origin,
    seen,
    async close() {
      for (const res of hanging) res.destroy();
      await closeServer(server as Server);
    },
  };
}
