import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loginAtProvider } from './support/provider-login.js';
import { oauthDeclarations, startPatchbay, startThirdParty, type TestPatchbay, type ThirdParty } from './support/harness.js';

const HOST_ORIGIN = 'https://app.example.com';

describe('the configuration step of the hosted flow', () => {
  let thirdParty: ThirdParty;
  let patchbay: TestPatchbay;
  let accessKey: string;

  before(async () => {
    patchbay = await startPatchbay({
      declarations: async (origin) => {
        thirdParty = await startThirdParty({ redirectUri: `${origin}/oauth/callback` });
        return oauthDeclarations(thirdParty, {
          allowedOrigins: [HOST_ORIGIN],
          configFields: [
            { name: 'channel', label: 'Channel', required: true },
            { name: 'note', label: 'Note', required: false },
          ],
        });
      },
    });
    accessKey = await patchbay.accessKey();
  });

  after(async () => {
    await patchbay.close();
    await thirdParty.close();
  });

  it('asks for the fields after sign-in, refuses a missing required field, and stores the config on the install', async () => {
    const base = `${patchbay.origin}/v1/integrations/acme-sync`;
    const headers = { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' };
    const session = (await (await fetch(`${base}/session`, { method: 'POST', headers, body: JSON.stringify({ tenantId: 'cfg' }) })).json()) as {
      id: string;
      startUrl: string;
    };
    const start = await fetch(`${session.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    const { callbackUrl } = await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`);
    const form = await fetch(callbackUrl);
    const page = await form.text();
    assert.match(page, /<form method="post" action="\/v1\/integrations\/acme-sync\/session\/ses_[^"]+\/config">/);
    assert.match(page, /name="channel" required/);

    const early = await fetch(`${base}/session/${session.id}/commit`, { method: 'POST', headers });
    assert.equal(early.status, 409, 'a session waiting for configuration cannot be committed');

    const configUrl = `${base}/session/${session.id}/config`;
    const post = (body: Record<string, string>) => fetch(configUrl, { method: 'POST', body: new URLSearchParams(body), redirect: 'manual' });
    const missing = await post({ channel: '  ', note: 'kept' });
    assert.equal(missing.status, 400);
    const missingPage = await missing.text();
    assert.match(missingPage, /role="alert">Channel is required\./);
    assert.match(missingPage, /value="kept"/, 'what the user typed is kept');

    const saved = await post({ channel: '#alerts', note: '<b>hi</b>' });
    assert.equal(saved.status, 200);
    assert.match(await saved.text(), /&quot;status&quot;:&quot;authorized&quot;/);
    assert.equal((await post({ channel: '#again' })).status, 409, 'the form cannot be replayed');

    const { targetUrl } = (await (await fetch(`${base}/session/${session.id}/commit`, { method: 'POST', headers })).json()) as { targetUrl: string };
    const install = (await (await fetch(targetUrl, { headers })).json()) as { config: Record<string, string> };
    assert.deepEqual(install.config, { channel: '#alerts', note: '<b>hi</b>' });
  });

  it('shows the form again when the sign-in window is reopened before it was saved, and a cancel then stops the form', async () => {
    const base = `${patchbay.origin}/v1/integrations/acme-sync`;
    const headers = { authorization: `Bearer ${accessKey}`, 'content-type': 'application/json' };
    const session = (await (await fetch(`${base}/session`, { method: 'POST', headers, body: JSON.stringify({ tenantId: 'cfg-reopen' }) })).json()) as {
      id: string;
      startUrl: string;
    };
    const start = await fetch(`${session.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    const { callbackUrl } = await loginAtProvider(start.headers.get('location')!, `${patchbay.origin}/oauth/callback`);
    assert.equal((await fetch(callbackUrl)).status, 200, 'the first window shows the form');
    // The window was lost (closed, or severed by the provider's COOP): "Reopen sign-in window".
    const reopened = await fetch(`${session.startUrl}?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`, { redirect: 'manual' });
    assert.equal(reopened.status, 200, 'no second sign-in: the form again');
    assert.match(await reopened.text(), /action="\/v1\/integrations\/acme-sync\/session\/ses_[^"]+\/config"/);

    const cancelled = await fetch(`${base}/session/${session.id}/cancel`, { method: 'POST', headers });
    assert.equal(cancelled.status, 200);
    const saved = await fetch(`${base}/session/${session.id}/config`, { method: 'POST', body: new URLSearchParams({ channel: '#late' }), redirect: 'manual' });
    assert.equal(saved.status, 409, 'the form of a cancelled session is not accepted');
    const view = (await (await fetch(`${base}/session/${session.id}`, { headers })).json()) as { status: string };
    assert.equal(view.status, 'cancelled');
  });
});
