import type Provider from 'oidc-provider';
import { isValidAccessToken } from '../../src/demo/provider.js';
import { closeServer, listenOnLoopback } from './harness.js';
import { STAND_IN } from './stand-in-api.js';

export interface MultiMethodApi {
  origin: string;
  close(): Promise<void>;
}

/**
 * A third-party API on loopback that takes several ways of signing in on the same URLs, as many
 * real APIs do (a key, a password, or an OAuth token): `GET /me` answers `{ok, via}` naming the
 * one it was called with, 401 without a good one. OAuth tokens are checked at `provider` when given.
 */
export async function startMultiMethodApi(provider?: Provider): Promise<MultiMethodApi> {
  const { server, origin } = await listenOnLoopback();
  const basic = `Basic ${Buffer.from(`${STAND_IN.basic.username}:${STAND_IN.basic.password}`).toString('base64')}`;
  server.on('request', (req, res) => {
    void (async () => {
      const authorization = req.headers.authorization ?? '';
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      let via: string | null = null;
      if (req.headers['x-api-key'] === STAND_IN.apiKey) via = 'apiKey';
      else if (authorization === basic) via = 'basic';
      else if (bearer === STAND_IN.bearer) via = 'bearer';
      else if (bearer && provider && (await isValidAccessToken(provider, bearer))) via = 'oauth2';
      const ok = via !== null && new URL(req.url ?? '/', origin).pathname === '/me';
      res.writeHead(via === null ? 401 : ok ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(via === null ? { ok: false, error: 'unauthorized' } : { ok, via }));
    })();
  });
  return { origin, close: () => closeServer(server) };
}
