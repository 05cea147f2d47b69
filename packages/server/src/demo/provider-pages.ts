import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type Provider from 'oidc-provider';
import { escapeHtml } from '../pages/html.js';

/**
 * The sign-in and consent pages of "Demo Cloud", the demo's pretend provider. They replace
 * oidc-provider's development pages, which load web fonts from the internet and show a debug
 * panel: a newcomer should meet a provider that looks like one, and works offline.
 * Any user name and password signs in (there are no accounts to make).
 */

const STYLE = `
:root{color-scheme:light dark;--accent:#0b6bcb;--ink:#1d2433;--muted:#5b6474;--card:#fff;--page:#eef2f7;--line:#d5dbe5}
@media (prefers-color-scheme:dark){:root{--ink:#e8ecf3;--muted:#a3acbb;--card:#1c222c;--page:#11151b;--line:#333c4a;--accent:#4c9bf0}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:grid;place-items:center;background:var(--page);color:var(--ink);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:min(24rem,100% - 2rem);background:var(--card);border:1px solid var(--line);border-radius:14px;padding:2rem 1.75rem;box-shadow:0 8px 30px rgb(0 0 0/.08)}
.brand{display:flex;align-items:center;gap:.6rem;font-weight:650;font-size:1.05rem;margin-bottom:1.25rem}
.brand svg{width:2rem;height:2rem;flex:none}
h1{font-size:1.4rem;margin:0 0 .35rem}
p{margin:0 0 1.1rem;color:var(--muted)}
label{display:block;font-weight:550;font-size:.9rem;margin:.9rem 0 .3rem}
input{width:100%;font:inherit;padding:.6rem .7rem;border:1px solid var(--line);border-radius:8px;background:transparent;color:inherit}
input:focus-visible,button:focus-visible{outline:3px solid color-mix(in srgb,var(--accent) 45%,transparent);outline-offset:2px}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1.4rem}
button{font:inherit;font-weight:600;border-radius:8px;padding:.6rem 1.1rem;cursor:pointer;border:1px solid var(--line);background:transparent;color:var(--ink)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff;flex:1}
ul{margin:0 0 .5rem;padding-left:1.2rem}
li{margin:.2rem 0}
.fine{font-size:.8rem;margin-top:1.25rem;margin-bottom:0}
`;

// A strict CSP with the one inline stylesheet pinned by its hash: no script, nothing from elsewhere.
// No form-action: the forms post here, but the answer redirects to the client's redirect URI on
// another origin, and browsers hold a form's redirects to form-action too.
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src data:; base-uri 'none'; frame-ancestors 'none'`;

const LOGO = `<svg viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8" fill="#0b6bcb"/><path d="M10 21.5h12.2a4.3 4.3 0 0 0 .6-8.56A6 6 0 0 0 11.3 12.6 4.5 4.5 0 0 0 10 21.5z" fill="#fff"/></svg>`;

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are on Demo Cloud',
  profile: 'See your name',
  offline_access: 'Stay connected when you are away',
  'demo.read': 'Read your Demo Cloud data',
};

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} — Demo Cloud</title><style>${STYLE}</style></head><body><main><div class="brand">${LOGO}<span>Demo Cloud</span></div>${body}</main></body></html>`;
}

function signInPage(uid: string, clientName: string): string {
  return page(
    'Sign in',
    `<h1>Sign in</h1><p>to continue to <strong>${escapeHtml(clientName)}</strong></p>
<form method="post" action="${uid}/login" autocomplete="off">
<label for="login">User name</label><input id="login" name="login" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>
<form method="post" action="${uid}/abort"><div class="actions"><button type="submit" name="abort">Cancel</button></div></form>
<p class="fine">This is the Patchbay demo's pretend provider: any user name and password will do.</p>`,
  );
}

function consentPage(uid: string, clientName: string, account: string, scopes: string[]): string {
  const items = scopes.map((scope) => `<li>${escapeHtml(SCOPE_TEXT[scope] ?? scope)}</li>`).join('');
  return page(
    'Allow access',
    `<h1>Allow access?</h1><p><strong>${escapeHtml(clientName)}</strong> wants to use your Demo Cloud account <strong>${escapeHtml(account)}</strong> to:</p>
<ul>${items}</ul>
<form method="post" action="${uid}/confirm"><div class="actions"><button class="primary" type="submit">Allow</button></div></form>
<form method="post" action="${uid}/abort"><div class="actions"><button type="submit" name="abort">Cancel</button></div></form>`,
  );
}

/** Reads a small urlencoded form body (the sign-in form is two short fields). */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 8192) break;
  }
  return new URLSearchParams(body);
}

const INTERACTION_PATH = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/;

/** Serves the interaction pages inside the provider itself, so it works wherever it is mounted. */
export function useDemoProviderPages(provider: Provider): void {
  provider.use(async (ctx, next) => {
    const match = INTERACTION_PATH.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'This sign-in page belongs to another attempt.');
    const clientName = 'Acme CRM (Patchbay demo)';
    ctx.set('cache-control', 'no-store');
    if (ctx.method === 'GET' && !action) {
      ctx.type = 'html';
      ctx.set('content-security-policy', CSP);
      ctx.body =
        details.prompt.name === 'login'
          ? signInPage(uid!, clientName)
          : consentPage(
              uid!,
              clientName,
              String(details.session?.accountId ?? ''),
              String(details.params['scope'] ?? '')
                .split(' ')
                .filter(Boolean),
            );
      return;
    }
    // Abort answers a link as well as the form's button (as oidc-provider's own pages did).
    if (action === 'abort') {
      await provider.interactionFinished(
        ctx.req,
        ctx.res,
        { error: 'access_denied', error_description: 'The person cancelled.' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (ctx.method !== 'POST') ctx.throw(405);
    if (action === 'login') {
      const login = (await readForm(ctx.req)).get('login')?.trim();
      if (!login) return ctx.throw(400, 'A user name is needed.');
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login.slice(0, 64) } }, { mergeWithLastSubmission: false });
      return;
    }
    // Consent: grant exactly what the client asked for and is still missing.
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: String(details.session?.accountId), clientId: String(details.params['client_id']) });
    if (!grant) return ctx.throw(400, 'The consent expired; start again.');
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });
}
