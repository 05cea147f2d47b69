import type { Response } from 'express';
import type { FormField } from '../connectors/auth-methods.js';
import type { Connector, PublicAuthMethod } from '../connectors/catalog.js';
import type { ConfigField } from '../integrations/schema.js';
import type { CallbackOutcome } from '../sessions/view.js';
import { html, sendPage } from './html.js';

/**
 * The pages of the hosted flow, shown in the popup (or the full page). The done page hands the
 * result to the opener through /static/done.js, reading it from a meta tag (no inline script).
 */
export function sendDonePage(res: Response, outcome: CallbackOutcome): void {
  const { session } = outcome;
  if (outcome.mode === 'page' && outcome.redirectUrl) {
    const target = new URL(outcome.redirectUrl);
    target.searchParams.set('session', session.id);
    target.searchParams.set('status', session.status === 'authorized' ? 'authorized' : session.status);
    res.redirect(303, target.toString());
    return;
  }
  const status = session.status === 'authorized' ? 'authorized' : session.status === 'cancelled' ? 'cancelled' : 'failed';
  const message = { source: 'patchbay', type: 'patchbay:session', sessionId: session.id, status, ...(session.error ? { error: session.error } : {}) };
  const heading = status === 'authorized' ? 'You are connected' : status === 'cancelled' ? 'Sign-in cancelled' : 'Something went wrong';
  const detail =
    status === 'authorized'
      ? 'You can close this window and go back to the app.'
      : status === 'cancelled'
        ? 'Nothing was connected. You can close this window.'
        : (session.error?.message ?? 'Close this window and try again.');
  sendPage(res, 200, {
    title: heading,
    head: html`<meta name="patchbay-result" content="${JSON.stringify(message)}"><meta name="patchbay-opener-origin" content="${outcome.openerOrigin ?? ''}">`,
    scripts: ['/static/done.js'],
    body: html`<main class="card" data-status="${status}"><h1>${heading}</h1><p>${detail}</p><button type="button" id="close" class="secondary">Close window</button></main>`,
  });
}

export function sendConfigurationPage(
  res: Response,
  input: { actionUrl: string; integrationName: string; fields: ConfigField[]; error?: string; values?: Record<string, string> },
): void {
  const fields = input.fields.map(
    (field) => html`<label for="f-${field.name}">${field.label}${field.required ? ' *' : ''}</label>
<input id="f-${field.name}" name="${field.name}" ${field.required ? html`required` : ''} maxlength="1000" value="${input.values?.[field.name] ?? ''}">
${field.description ? html`<p class="hint">${field.description}</p>` : ''}`,
  );
  sendPage(res, input.error ? 400 : 200, {
    title: `Configure ${input.integrationName}`,
    body: html`<main class="card"><h1>Configure ${input.integrationName}</h1>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="${input.actionUrl}">${fields}<button type="submit">Save and finish</button></form></main>`,
  });
}

export function sendErrorPage(res: Response, status: number, error: { code: string; message: string }): void {
  sendPage(res, status, {
    title: 'Patchbay',
    body: html`<main class="card" data-status="error" data-code="${error.code}"><h1>This link cannot continue</h1><p>${error.message}</p><p class="hint">Code: ${error.code}</p></main>`,
  });
}

const METHOD_TITLES: Record<PublicAuthMethod['type'], string> = {
  none: 'Connect',
  basic: 'Sign in',
  bearer: 'Paste a token',
  apiKey: 'Paste an API key',
  oauth2: 'Sign in',
  custom: 'Sign in',
};

/**
 * The credential form for basic, bearer, API key, custom and no-auth connectors. Secret fields are
 * password inputs and are never echoed back after an error; other values are kept.
 */
export function sendCredentialsPage(
  res: Response,
  input: { actionUrl: string; connector: Connector; method: PublicAuthMethod; fields: FormField[]; error?: string; values?: Record<string, string> },
): void {
  const { connector, method } = input;
  const fields = input.fields.map(
    (field) => html`<label for="f-${field.name}">${field.label}</label>
<input id="f-${field.name}" name="${field.name}" type="${field.secret ? 'password' : 'text'}" required maxlength="4096" autocomplete="off" value="${field.secret ? '' : (input.values?.[field.name] ?? '')}">`,
  );
  sendPage(res, input.error ? 400 : 200, {
    title: `Connect ${connector.name}`,
    body: html`<main class="card">
${connector.iconUrl ? html`<img class="icon" src="${connector.iconUrl}" alt="" width="40" height="40">` : ''}
<h1>Connect ${connector.name}</h1>
<p>${METHOD_TITLES[method.type]}${method.type === 'apiKey' ? html` — it is sent as <code>${method.name}</code>` : ''}. ${connector.domain ? html`<span class="hint">${connector.domain}</span>` : ''}</p>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="${input.actionUrl}">${fields}<button type="submit">${input.fields.length ? 'Save and connect' : 'Connect'}</button></form>
<p class="hint">Stored encrypted. The app you came from never sees it.</p></main>`,
  });
}

/** What each method is called on the choice page when the connector's declaration gives it no label. */
const METHOD_NAMES: Record<PublicAuthMethod['type'], (connector: Connector) => string> = {
  oauth2: (connector) => `Sign in with ${connector.name}`,
  apiKey: () => 'API key',
  basic: () => 'Username and password',
  bearer: () => 'Access token',
  custom: () => 'Other sign-in',
  none: () => 'Connect without credentials',
};

export function methodName(connector: Connector, method: PublicAuthMethod): string {
  return method.label ?? METHOD_NAMES[method.type](connector);
}

/**
 * The choice among a connector's methods, default first and marked. Each choice is a submit button
 * of one GET form back to the start URL with `method` set, so it works without script (the pages'
 * CSP allows none inline), by keyboard and with a screen reader: a labelled group of buttons (the
 * default's badge is part of its name, "… Recommended", as it reads on screen).
 */
export function sendMethodChoicePage(
  res: Response,
  input: { actionUrl: string; hidden: Record<string, string>; connector: Connector; methods: PublicAuthMethod[] },
): void {
  const { connector } = input;
  const hidden = Object.entries(input.hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  const choices = input.methods.map(
    (method) =>
      html`<li><button type="submit" name="method" value="${method.type}" class="${method.default ? 'choice default' : 'choice secondary'}" data-method="${method.type}"><span>${methodName(connector, method)}</span>${
        method.default ? html` <span class="badge">Recommended</span>` : ''
      }</button></li>`,
  );
  sendPage(res, 200, {
    title: `Connect ${connector.name}`,
    body: html`<main class="card">
${connector.iconUrl ? html`<img class="icon" src="${connector.iconUrl}" alt="" width="40" height="40">` : ''}
<h1 id="choose-heading">Connect ${connector.name}</h1>
<p id="choose-question">Choose how to sign in.</p>
<form method="get" action="${input.actionUrl}">${hidden}<ul class="choices" role="group" aria-labelledby="choose-heading choose-question">${choices}</ul></form></main>`,
  });
}
