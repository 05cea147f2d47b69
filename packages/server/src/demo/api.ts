import { Router } from 'express';
import type Provider from 'oidc-provider';
import { isValidAccessToken } from './provider.js';

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
    res.json({ ok: true, user: grant.sub, scope: grant.scope, message: `Hello ${grant.sub}, this answer came from the demo third-party API.`, at: new Date().toISOString() });
  });
  return router;
}
