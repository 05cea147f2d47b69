import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import type { PatchbayDisconnectedEvent } from '../../events/patchbay-disconnected.js';
import type { PatchbayErrorEvent } from '../../events/patchbay-error.js';
import { capturePopups, newToken, setTenant, STAND_IN_CONNECTION_ID, tenantRecord } from '../../test-support/stand-in.js';
import type { ConnectButton } from '../connect-button/connect-button.component.js';
import '../connect-button/connect-button.js';
import type { ConnectorPicker } from './connector-picker.component.js';
import './connector-picker.js';

type TenantState = 'not_connected' | 'connected' | 'expiring' | 'needs_reauth';
const part = <T extends HTMLElement = HTMLElement>(el: HTMLElement, name: string) => el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);
const text = (el: HTMLElement, name: string) => part(el, name)?.textContent?.trim() ?? null;

/** A picker whose tenant the stand-in holds in `state`, with its first load done. */
async function picker(state: Parameters<typeof setTenant>[1]) {
  const token = newToken();
  await setTenant(token.id, state);
  const errors: string[] = [];
  const el = await fixture<ConnectorPicker>(
    html`<connector-picker
      integration="test"
      session-token=${token.token}
      server=${location.origin}
      @patchbay-error=${(event: PatchbayErrorEvent) => errors.push(event.detail.code)}
    ></connector-picker>`,
  );
  await el.catalog.taskComplete.catch(() => undefined);
  await el.updateComplete;
  return { el, errors, ...token };
}

/** What each component shows for the state; the picker's option and list, the button's label. */
const EXPECTED: Record<TenantState, { badge: string | null; action: string; listed: string | null; button: string; status: string }> = {
  not_connected: { badge: null, action: 'Connect', listed: null, button: 'Connect', status: 'idle' },
  connected: { badge: 'Connected', action: '+ Add connection', listed: 'Connected', button: 'Connected as ada@example.com', status: 'connected' },
  expiring: { badge: 'Expires soon', action: 'Reconnect', listed: 'Expires soon', button: 'Reconnect', status: 'expiring' },
  needs_reauth: { badge: 'Needs re-auth', action: 'Reconnect', listed: 'Needs re-auth', button: 'Reconnect', status: 'needs-reauth' },
};

describe('<connector-picker> shows the tenant’s state on load', () => {
  for (const state of Object.keys(EXPECTED) as TenantState[]) {
    it(`${state}: the option’s badge and action and the connections list say so, accessibly`, async () => {
      const { el } = await picker(state);
      const expected = EXPECTED[state];
      expect(text(el, 'state')).to.equal(expected.badge);
      expect(text(el, 'action')).to.equal(expected.action);
      expect(text(el, 'connection-state')).to.equal(expected.listed);
      await expect(el).to.be.accessible();
      await el.show();
      await expect(el).to.be.accessible();
    });
  }

  for (const state of Object.keys(EXPECTED) as TenantState[]) {
    it(`${state}: agrees with a <connect-button> on the same session`, async () => {
      const token = newToken();
      await setTenant(token.id, state);
      const host = await fixture<HTMLDivElement>(html`<div>
        <connect-button integration="test" session-token=${token.token}></connect-button>
        <connector-picker integration="test" session-token=${token.token}></connector-picker>
      </div>`);
      const button = host.querySelector<ConnectButton>('connect-button')!;
      const catalog = host.querySelector<ConnectorPicker>('connector-picker')!;
      await Promise.all([button.tenant.task.taskComplete, catalog.catalog.taskComplete]);
      await Promise.all([button.updateComplete, catalog.updateComplete]);
      expect(button.status).to.equal(EXPECTED[state].status);
      expect(text(button, 'base')).to.equal(EXPECTED[state].button);
      expect(catalog.tenant.summary!.state).to.equal(button.tenant.summary!.state, 'one summary, from one view');
      expect(text(catalog, 'state')).to.equal(EXPECTED[state].badge);
    });
  }

  it('re-authorizes the expiring connection when the tenant chooses its connector', async () => {
    const { el } = await picker('expiring');
    const popups = capturePopups();
    try {
      el.choose(el.catalog.value![0]!);
      expect(new URL(popups.opened[0]!).searchParams.get('reauth')).to.equal(STAND_IN_CONNECTION_ID);
    } finally {
      popups.restore();
    }
  });

  it('fires patchbay-error session_expired for an expired session and says so in the popover, never an endless loading message', async () => {
    const { el, errors } = await picker('expired');
    expect(errors).to.deep.equal(['session_expired']);
    await el.show();
    const message = el.shadowRoot!.querySelector('[part~="message"]')!;
    expect(message.getAttribute('data-kind')).to.equal('error');
    expect(message.textContent).to.contain('This session has expired. Reload the page');
    await expect(el).to.be.accessible();
  });
});

describe('<connector-picker> manages the tenant’s connections', () => {
  it('disconnects after the inline confirmation: revoked on the server, patchbay-disconnected, back to Connect', async () => {
    const { el, id } = await picker('connected');
    part(el, 'disconnect')!.click();
    await el.updateComplete;
    await waitUntil(() => el.shadowRoot!.activeElement === part(el, 'confirm-cancel'), 'the question has the focus');
    await expect(el).to.be.accessible();
    const disconnected = oneEvent(el, 'patchbay-disconnected') as Promise<PatchbayDisconnectedEvent>;
    part(el, 'confirm-disconnect')!.click();
    expect((await disconnected).detail).to.deep.equal({ connectionId: STAND_IN_CONNECTION_ID, connector: 'demo-cloud', integration: 'test' });
    expect((await tenantRecord(id)).deletes).to.deep.equal([STAND_IN_CONNECTION_ID]);
    await el.updateComplete;
    expect(part(el, 'connections')).to.equal(null);
    expect(text(el, 'action')).to.equal('Connect');
    expect(el.shadowRoot!.activeElement).to.equal(part(el, 'trigger'));
    await expect(el).to.be.accessible();
  });

  it('cancels with the Cancel button: nothing asked of the server, the connection stays', async () => {
    const { el, id } = await picker('needs_reauth');
    part(el, 'disconnect')!.click();
    await el.updateComplete;
    part(el, 'confirm-cancel')!.click();
    await el.updateComplete;
    expect(part(el, 'confirm')).to.equal(null);
    expect(text(el, 'connection-state')).to.equal('Needs re-auth');
    expect((await tenantRecord(id)).deletes).to.deep.equal([]);
  });

  it('reports a 409 connection_in_use as patchbay-error and keeps the connection listed', async () => {
    const { el, errors } = await picker('busy');
    part(el, 'disconnect')!.click();
    await el.updateComplete;
    part(el, 'confirm-disconnect')!.click();
    await waitUntil(() => errors.includes('connection_in_use'), 'patchbay-error connection_in_use');
    await el.updateComplete;
    expect(part(el, 'connection')).not.to.equal(null);
    expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('renewing this connection');
  });

  it('re-authorizes a listed connection with its Reconnect, after the host may veto it', async () => {
    const { el } = await picker('connected');
    const requests: unknown[] = [];
    el.addEventListener('patchbay-request-connect', (event) => requests.push(event.detail));
    const popups = capturePopups();
    try {
      part(el, 'reconnect')!.click();
      expect(requests).to.deep.equal([{ connector: 'demo-cloud', choice: 'reconnect', connectionId: STAND_IN_CONNECTION_ID }]);
      expect(new URL(popups.opened[0]!).searchParams.get('reauth')).to.equal(STAND_IN_CONNECTION_ID);
    } finally {
      popups.restore();
    }
  });
});
