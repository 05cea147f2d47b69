import { Router } from 'express';
import type Provider from 'oidc-provider';
import { isValidAccessToken } from './provider.js';

/** The one API key the demo's key-based service accepts; the demo page tells the user to type it. */
export const DEMO_API_KEY = 'demo-key-1234';

/**
 * The demo's stand-in for a third-party API (think Slack's `auth.test`): it answers only to a
 * valid access token from the demo provider.
 */
export function demoThirdPartyApi(provider: Provider): Router {
  const router = Router();
  router.get('/me', async function demoMeHandler(req, res) {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const grant = match ? await isValidAccessToken(provider, match[1]!) : null;
    if (!grant) {
      res.status(401).set('www-authenticate', 'Bearer error="invalid_token"').json({ ok: false, error: 'invalid_token' });
      return;
    }
    res.json({
      ok: true,
      user: grant.sub,
      scope: grant.scope,
      message: `Hello ${grant.sub}, this answer came from the demo third-party API.`,
      at: new Date().toISOString(),
    });
  });
  // A second pretend service that authenticates with an API key header instead of OAuth.
  router.get('/keyed/me', function demoKeyedMeHandler(req, res) {
    if (req.get('x-api-key') !== DEMO_API_KEY) {
      res.status(401).json({ ok: false, error: 'invalid_api_key' });
      return;
    }
    res.json({ ok: true, service: 'Demo Keys', message: 'This answer came from the demo key-based API.', at: new Date().toISOString() });
  });
  return router;
}
