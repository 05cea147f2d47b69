import { Router } from 'express';
import { jsonBody } from '../http/body.js';
import { z } from 'zod';
import type { Config } from '../config.js';
import { parseInput } from '../http/validation.js';
import { html, sendPage } from '../pages/html.js';

export const DEMO_INTEGRATION = 'demo';
export const DEMO_CATALOG_INTEGRATION = 'demo-apps';
export const DEMO_TENANT = 'demo-user';

/**
 * Plays the host SaaS: a page with <connect-button>, and the host's own backend, which holds the
 * access key and calls Patchbay over HTTP exactly as a customer's backend would.
 */
export function demoHost(config: Config, accessKey: string): Router {
  const router = Router();
  const callPatchbay = async (path: string, body: unknown, integration = DEMO_INTEGRATION) => {
    const response = await fetch(`${config.publicUrl}/v1/integrations/${integration}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  router.get('/', function demoPageHandler(_req, res) {
    sendPage(res, 200, {
      title: 'Acme CRM — Patchbay demo',
      head: html`<link rel="stylesheet" href="/static/demo.css"><link rel="icon" href="/static/favicon.svg" type="image/svg+xml">`,
      scripts: ['/widget/patchbay.js', '/static/demo.js'],
      body: html`<header class="topbar"><strong>Acme CRM</strong><span class="hint">a pretend SaaS product — the Patchbay demo</span></header>
<main class="demo">
  <section class="panel">
    <h1>Integrations</h1>
    <p>Connect your <strong>Demo Cloud</strong> account so Acme can act on your behalf. Sign in with any name and password at the demo provider.</p>
    <div class="row"><connect-button id="connect" integration="${DEMO_INTEGRATION}" server="${config.publicUrl}"></connect-button></div>
  </section>
  <section class="panel">
    <h2>Use the integration</h2>
    <p>Acme's backend calls the integration for tenant <code>${DEMO_TENANT}</code>; Patchbay uses the tenant's token to call the demo API.</p>
    <button id="invoke" type="button">Call the Demo Cloud API</button>
    <pre id="result" aria-live="polite"></pre>
  </section>
  <section class="panel">
    <h2>More apps</h2>
    <p>A catalog in a popover: search, pick with the keyboard or the mouse, and connect — by OAuth for Demo Cloud, or with an API key for Demo Keys (type <code>demo-key-1234</code>).</p>
    <div class="row"><connector-picker id="picker" integration="${DEMO_CATALOG_INTEGRATION}" server="${config.publicUrl}"></connector-picker></div>
  </section>
</main>`,
    });
  });

  router.post('/host/session', jsonBody({ limit: '100kb' }), async function demoCreateSessionHandler(req, res) {
    const { integration } = parseInput(
      z.object({ integration: z.enum([DEMO_INTEGRATION, DEMO_CATALOG_INTEGRATION]).default(DEMO_INTEGRATION) }),
      req.body ?? {},
    );
    const answer = await callPatchbay('/session', { redirectUrl: `${config.publicUrl}/demo`, tags: { 'fusebit.tenantId': DEMO_TENANT } }, integration);
    res.status(answer.status).json(answer.body);
  });

  router.post('/host/invoke', jsonBody({ limit: '100kb' }), async function demoInvokeHandler(req, res) {
    const body = parseInput(z.object({ note: z.string().max(200).optional() }), req.body ?? {});
    const answer = await callPatchbay(`/api/tenant/${DEMO_TENANT}/test`, body);
    res.status(answer.status).json(answer.body);
  });

  return router;
}
