import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import type { PatchbayDisconnectedEvent } from '../../events/patchbay-disconnected.js';
import type { PatchbayErrorEvent } from '../../events/patchbay-error.js';
import { capturePopups, newToken, setStatus, setTenant, STAND_IN_CONNECTION_ID, tenantRecord } from '../../test-support/stand-in.js';
import type { ConnectButton } from './connect-button.component.js';
import './connect-button.js';

const part = <T extends HTMLElement = HTMLElement>(el: ConnectButton, name: string) => el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);
const label = (el: ConnectButton) => part(el, 'base')!.textContent!.trim();
const deepActive = () => {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
};

/** A button whose tenant the stand-in holds in `state`, with its first load done. */
async function button(state: Parameters<typeof setTenant>[1], options: { manage?: boolean; reauth?: boolean } = {}) {
  const token = newToken();
  await setTenant(token.id, state);
  const errors: PatchbayErrorEvent[] = [];
  const el = await fixture<ConnectButton>(
    html`<connect-button
      integration="test"
      session-token=${token.token}
      server=${location.origin}
      ?manage=${options.manage ?? false}
      ?reauth=${options.reauth ?? false}
      @patchbay-error=${(event: PatchbayErrorEvent) => errors.push(event)}
    ></connect-button>`,
  );
  await el.tenant.task.taskComplete.catch(() => undefined);
  await el.updateComplete;
  return { el, errors, ...token };
}

/**
 * Shift+Tab as a person presses it. WebDriver classic (WebKitGTK here) takes only "press" and
 * "type": there the Shift key code (U+E008) stays held for the Tab that follows it in one press.
 */
async function shiftTab(): Promise<void> {
  const webDriver = /AppleWebKit/.test(navigator.userAgent) && !/Chrome|HeadlessChrome/.test(navigator.userAgent);
  if (webDriver) {
    await sendKeys({ press: '\uE008\uE004' });
    return;
  }
  await sendKeys({ down: 'Shift' });
  await sendKeys({ press: 'Tab' });
  await sendKeys({ up: 'Shift' });
}

describe('<connect-button> shows the tenant’s state on load', () => {
  let popups: ReturnType<typeof capturePopups> | null = null;
  afterEach(() => {
    popups?.restore();
    popups = null;
  });

  it('not connected: Connect, and a click connects anew (no re-authorization)', async () => {
    const { el } = await button('not_connected');
    expect(el.status).to.equal('idle');
    expect(label(el)).to.equal('Connect');
    await expect(el).to.be.accessible();
    popups = capturePopups();
    part(el, 'base')!.click();
    expect(new URL(popups.opened[0]!).searchParams.has('reauth')).to.equal(false);
  });

  it('connected: Connected as the connection’s label, without the host setting anything', async () => {
    const { el } = await button('connected');
    expect(el.status).to.equal('connected');
    expect(el.dataset.status).to.equal('connected');
    expect(label(el)).to.equal('Connected as ada@example.com');
    expect(part(el, 'base')!.getAttribute('aria-disabled')).to.equal('true');
    await expect(el).to.be.accessible();
  });

  it('needs re-auth: Reconnect, and a click re-authorizes that connection', async () => {
    const { el } = await button('needs_reauth');
    expect(el.status).to.equal('needs-reauth');
    expect(label(el)).to.equal('Reconnect');
    expect(part(el, 'status')!.textContent).to.contain('sign in again');
    await expect(el).to.be.accessible();
    popups = capturePopups();
    part(el, 'base')!.click();
    expect(new URL(popups.opened[0]!).searchParams.get('reauth')).to.equal(STAND_IN_CONNECTION_ID);
  });

  it('expiring: a Reconnect offer that says it expires soon (with the date), re-authorizing that connection', async () => {
    const { el } = await button('expiring');
    expect(el.status).to.equal('expiring');
    expect(label(el)).to.equal('Reconnect');
    const expiresAt = el.tenant.summary!.connection!.expiresAt!;
    const date = new Intl.DateTimeFormat('en', { dateStyle: 'medium' }).format(new Date(expiresAt));
    expect(part(el, 'status')!.textContent).to.contain('expires soon').and.to.contain(date);
    await expect(el).to.be.accessible();
    popups = capturePopups();
    part(el, 'base')!.click();
    expect(new URL(popups.opened[0]!).searchParams.get('reauth')).to.equal(STAND_IN_CONNECTION_ID);
  });

  it('still re-authorizes that connection after a cancelled attempt, rather than making a new one', async () => {
    const { el, id } = await button('needs_reauth');
    popups = capturePopups();
    part(el, 'base')!.click();
    await setStatus(id, 'cancelled');
    await oneEvent(el, 'patchbay-cancel');
    await el.updateComplete;
    part(el, 'base')!.click();
    expect(popups.opened).to.have.length(2);
    expect(new URL(popups.opened[1]!).searchParams.get('reauth')).to.equal(STAND_IN_CONNECTION_ID);
  });

  it('keeps the reauth attribute as an override: Reconnect even when the server says connected', async () => {
    const { el } = await button('connected', { reauth: true });
    expect(el.status).to.equal('needs-reauth');
    expect(label(el)).to.equal('Reconnect');
  });

  it('reads the state again after patchbay-connected, and shows the new connection’s label', async () => {
    const { el, id } = await button('not_connected');
    popups = capturePopups();
    part(el, 'base')!.click();
    await setTenant(id, 'connected');
    await setStatus(id, 'authorized');
    await oneEvent(el, 'patchbay-connected');
    await waitUntil(() => label(el) === 'Connected as ada@example.com', 'the label of the new connection is shown');
  });

  it('shows a clear, accessible error for an expired session and fires patchbay-error session_expired, never a spinner', async () => {
    const { el, errors } = await button('expired');
    expect(errors.map((event) => event.detail.code)).to.deep.equal(['session_expired']);
    expect(el.status).to.equal('error');
    expect(part(el, 'status')!.textContent).to.contain('This session has expired. Reload the page');
    expect(part(el, 'spinner')).to.equal(null);
    expect(part(el, 'base')!.getAttribute('aria-busy')).to.equal('false');
    await expect(el).to.be.accessible();
  });

  it('reports a malformed session token on load (patchbay-error invalid_session_token) without asking the server', async () => {
    const errors: string[] = [];
    const el = await fixture<ConnectButton>(
      html`<connect-button integration="test" session-token="not-a-token" @patchbay-error=${(event: PatchbayErrorEvent) => errors.push(event.detail.code)}></connect-button>`,
    );
    await el.tenant.task.taskComplete.catch(() => undefined);
    await el.updateComplete;
    expect(errors).to.deep.equal(['invalid_session_token']);
    expect(el.status).to.equal('error');
    expect(part(el, 'status')!.textContent).to.contain('no valid session');
  });
});

describe('<connect-button manage>', () => {
  const connection = (el: ConnectButton) => part(el, 'connection');

  it('lists the tenant’s connection: label, state and when it was connected, accessibly', async () => {
    const { el } = await button('connected', { manage: true });
    expect(part(el, 'connections')!.getAttribute('aria-label')).to.equal('Your connections');
    expect(part(el, 'connection-name')!.textContent).to.equal('Demo Cloud (ada@example.com)');
    expect(part(el, 'connection-state')!.textContent).to.equal('Connected');
    expect(part(el, 'connection-date')!.textContent).to.equal('Connected on Nov 2, 2026');
    expect(part(el, 'disconnect')!.getAttribute('aria-label')).to.equal('Disconnect Demo Cloud (ada@example.com)');
    await expect(el).to.be.accessible();
  });

  it('lists nothing without the manage attribute', async () => {
    const { el } = await button('connected');
    expect(part(el, 'connections')).to.equal(null);
  });

  it('asks before disconnecting: the question takes the focus, Escape cancels and gives the focus back', async () => {
    const { el, id } = await button('connected', { manage: true });
    part(el, 'disconnect')!.focus();
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => deepActive() === part(el, 'confirm-cancel'), 'the focus moves to the question');
    expect(part(el, 'confirm')!.getAttribute('role')).to.equal('group');
    expect(part(el, 'confirm')!.textContent).to.contain('Disconnect Demo Cloud (ada@example.com)?');
    await expect(el).to.be.accessible();
    await sendKeys({ press: 'Escape' });
    await waitUntil(() => deepActive() === part(el, 'disconnect'), 'the focus is back on Disconnect');
    expect(part(el, 'confirm')).to.equal(null);
    expect((await tenantRecord(id)).deletes).to.deep.equal([], 'nothing was asked of the server');
  });

  it('disconnects by keyboard: revoked on the server, patchbay-disconnected, back to Connect with no list', async () => {
    const { el, id } = await button('connected', { manage: true });
    part(el, 'disconnect')!.focus();
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => deepActive() === part(el, 'confirm-cancel'));
    await shiftTab();
    expect(deepActive()).to.equal(part(el, 'confirm-disconnect'));
    const disconnected = oneEvent(el, 'patchbay-disconnected') as Promise<PatchbayDisconnectedEvent>;
    await sendKeys({ press: 'Enter' });
    const event = await disconnected;
    expect(event.detail).to.deep.equal({ connectionId: STAND_IN_CONNECTION_ID, connector: 'demo-cloud', integration: 'test' });
    expect(event.bubbles && event.composed).to.equal(true);
    expect((await tenantRecord(id)).deletes).to.deep.equal([STAND_IN_CONNECTION_ID]);
    await el.updateComplete;
    expect(el.status).to.equal('idle');
    expect(label(el)).to.equal('Connect');
    expect(part(el, 'connections')).to.equal(null);
    expect(el.shadowRoot!.querySelector('[role="status"].visually-hidden')!.textContent).to.contain('Demo Cloud (ada@example.com) was disconnected.');
    expect(deepActive()).to.equal(part(el, 'base'), 'the focus lands on the button, not on the page');
    await expect(el).to.be.accessible();
  });

  it('shows the conflict when another sign-in is renewing the connection (409), keeps it listed and fires patchbay-error', async () => {
    const { el, errors } = await button('busy', { manage: true });
    part(el, 'disconnect')!.click();
    await el.updateComplete;
    part(el, 'confirm-disconnect')!.click();
    await waitUntil(() => errors.length === 1, 'patchbay-error fired');
    expect(errors[0]!.detail.code).to.equal('connection_in_use');
    await el.updateComplete;
    expect(connection(el)).not.to.equal(null);
    expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('could not be disconnected').and.to.contain('renewing this connection');
    await waitUntil(() => deepActive() === part(el, 'disconnect'), 'the focus is back on Disconnect');
    await expect(el).to.be.accessible();
  });

  it('re-authorizes a listed connection with its Reconnect', async () => {
    const { el } = await button('connected', { manage: true });
    const popups = capturePopups();
    try {
      part(el, 'reconnect')!.click();
      expect(new URL(popups.opened[0]!).searchParams.get('reauth')).to.equal(STAND_IN_CONNECTION_ID);
    } finally {
      popups.restore();
    }
  });
});
