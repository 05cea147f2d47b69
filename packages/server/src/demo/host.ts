import express, { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../config.js';
import { parseInput } from '../http/validation.js';
import { html, sendPage } from '../pages/html.js';

export const DEMO_INTEGRATION = 'demo';
export const DEMO_TENANT = 'demo-user';

/**
 * Plays the host SaaS: a page with <connect-button>, and the host's own backend, which holds the
 * access key and calls Patchbay over HTTP exactly as a customer's backend would.
 */
export function demoHost(config: Config, accessKey: string): Router {
  const router = Router();
  const base = `${config.publicUrl}/v1/integrations/${DEMO_INTEGRATION}`;
  const callPatchbay = async (path: string, body: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  router.get('/', function demoPageHandler(_req, res) {
    sendPage(res, 200, {
      title: 'Acme CRM — Patchbay demo',
      head: html`<link rel="stylesheet" href="/static/demo.css">`,
      scripts: ['/widget/patchbay.js', '/static/demo.js'],
      body: html`<header class="topbar"><strong>Acme CRM</strong><span class="hint">a pretend SaaS product — the Patchbay demo</span></header>
<main class="demo">
  <section class="panel">
    <h1>Integrations</h1>
    <p>Connect your <strong>Demo Cloud</strong> account so Acme can act on your behalf. Sign in with any name and password at the demo provider.</p>
    <div class="row"><connect-button id="connect" integration="${DEMO_INTEGRATION}" server="${config.publicUrl}"></connect-button><span id="status" class="hint" role="status"></span></div>
  </section>
  <section class="panel">
    <h2>Use the integration</h2>
    <p>Acme's backend calls the integration for tenant <code>${DEMO_TENANT}</code>; Patchbay uses the tenant's token to call the demo API.</p>
    <button id="invoke" type="button" disabled>Call the Demo Cloud API</button>
    <pre id="result" aria-live="polite"></pre>
  </section>
</main>`,
    });
  });

  router.post('/host/session', express.json(), async function demoCreateSessionHandler(_req, res) {
    const answer = await callPatchbay('/session', { redirectUrl: `${config.publicUrl}/demo`, tags: { 'fusebit.tenantId': DEMO_TENANT } });
    res.status(answer.status).json(answer.body);
  });

  router.post('/host/invoke', express.json(), async function demoInvokeHandler(req, res) {
    const body = parseInput(z.object({ note: z.string().max(200).optional() }), req.body ?? {});
    const answer = await callPatchbay(`/api/tenant/${DEMO_TENANT}/test`, body);
    res.status(answer.status).json(answer.body);
  });

  return router;
}
