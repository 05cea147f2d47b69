import { Router } from 'express';
import type { Config } from '../config.js';
import { html, sendPage } from './html.js';

/**
 * The partner's embedded URL, `{server}/partner#code=pbl_…`. The page holds no secret: the code
 * travels in the fragment (browsers never send it, so it reaches no log and no Referer), and
 * `<partner-onboarding>` reads it, removes it from the address bar and redeems it.
 */
export function partnerPageRoutes(config: Config): Router {
  const router = Router();
  router.get('/partner', function partnerPageHandler(_req, res) {
    sendPage(res, 200, {
      title: 'Partner onboarding',
      scripts: ['/widget/patchbay.js'],
      body: html`<main class="partner"><partner-onboarding server="${config.publicUrl}"></partner-onboarding></main>`,
    });
  });
  return router;
}
