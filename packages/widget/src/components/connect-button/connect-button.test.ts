import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { sessionIdOf } from '../../internal/session-token.js';
import { counts, fakePopup, newToken, setStatus } from '../../test-support/stand-in.js';
import type { ConnectButton } from './connect-button.component.js';
import './connect-button.js';

const base = (el: ConnectButton) => el.shadowRoot!.querySelector<HTMLButtonElement>('[part~="base"]')!;
const statusLine = (el: ConnectButton) => el.shadowRoot!.querySelector<HTMLElement>('[part~="status"]')!;
const choice = (el: ConnectButton, part: 'reopen' | 'cancel') => el.shadowRoot!.querySelector<HTMLButtonElement>(`[part~="${part}"]`);

async function button(token = newToken()) {
  const el = await fixture<ConnectButton>(html`<connect-button integration="test" session-token=${token.token} server=${location.origin}></connect-button>`);
  return { el, ...token };
}

describe('<connect-button>', () => {
  let restoreOpen: typeof window.open;
  beforeEach(() => {
    restoreOpen = window.open;
  });
  afterEach(() => {
    window.open = restoreOpen;
  });

  describe('when idle', () => {
    it('shows "Connect" in a native button and is accessible', async () => {
      const { el } = await button();
      expect(el.status).to.equal('idle');
      expect(base(el).tagName).to.equal('BUTTON');
      expect(base(el).textContent?.trim()).to.equal('Connect');
      await expect(el).to.be.accessible();
    });

    it('shows "Reconnect" and the needs-reauth state when the connection must be authorized again', async () => {
      const token = newToken();
      const el = await fixture<ConnectButton>(html`<connect-button reauth integration="test" session-token=${token.token}></connect-button>`);
      expect(el.status).to.equal('needs-reauth');
      expect(base(el).textContent?.trim()).to.equal('Reconnect');
      expect(statusLine(el).textContent).to.contain('sign in again');
      await expect(el).to.be.accessible();
    });

    it('uses a slotted label when the host gives one', async () => {
      const token = newToken();
      const el = await fixture<ConnectButton>(html`<connect-button integration="test" session-token=${token.token}>Link Slack</connect-button>`);
      const slot = el.shadowRoot!.querySelector('slot')!;
      expect(
        slot
          .assignedNodes()
          .map((node) => node.textContent)
          .join(''),
      ).to.equal('Link Slack');
    });
  });

  describe('when the user clicks', () => {
    it('opens the start URL in a popup synchronously, with the exact page origin, and shows connecting', async () => {
      const { el, id } = await button();
      const opened: string[] = [];
      window.open = ((url: string) => {
        opened.push(url);
        return fakePopup() as unknown as Window;
      }) as typeof window.open;
      base(el).click();
      // No await between the click and window.open: the popup blocker would stop it otherwise.
      expect(opened).to.have.length(1);
      const url = new URL(opened[0]!);
      expect(url.pathname).to.equal(`/v1/integrations/test/session/${id}/start`);
      expect(url.searchParams.get('mode')).to.equal('popup');
      expect(url.searchParams.get('origin')).to.equal(location.origin);
      await el.updateComplete;
      expect(el.status).to.equal('connecting');
      expect(base(el).getAttribute('aria-busy')).to.equal('true');
      await expect(el).to.be.accessible();
    });

    it('never starts a second flow on a double click: it focuses the open window instead', async () => {
      const { el } = await button();
      const popup = fakePopup();
      let opens = 0;
      window.open = (() => {
        opens += 1;
        return popup as unknown as Window;
      }) as typeof window.open;
      base(el).click();
      base(el).click();
      expect(opens).to.equal(1);
      expect(popup.focused).to.equal(1);
    });

    it('falls back to a full-page redirect when the popup is blocked', async () => {
      const { el, id } = await button();
      window.open = (() => null) as typeof window.open;
      const navigations: string[] = [];
      el.flow.navigate = (url: string) => navigations.push(url);
      base(el).click();
      expect(navigations).to.have.length(1);
      const url = new URL(navigations[0]!);
      expect(url.pathname).to.equal(`/v1/integrations/test/session/${id}/start`);
      expect(url.searchParams.get('mode')).to.equal('page');
    });
  });

  describe('messages from the popup', () => {
    it('re-reads the session only for a message from the server origin, marked patchbay, about its own session', async () => {
      const { el, id } = await button();
      window.open = (() => fakePopup() as unknown as Window) as typeof window.open;
      // The element reads the session on load (once or twice, as its updates fall): let those land first.
      let seen = -1;
      const settled = async () => {
        const reads = (await counts(id)).reads;
        const same = reads === seen;
        seen = reads;
        return same;
      };
      await waitUntil(settled, 'the reads on load settled', { interval: 250, timeout: 5000 });
      base(el).click();
      const before = (await counts(id)).reads;
      const send = (data: unknown, origin: string) => window.dispatchEvent(new MessageEvent('message', { data, origin }));
      send({ source: 'patchbay', type: 'patchbay:session', sessionId: id, status: 'authorized' }, 'https://evil.example.com');
      send({ type: 'patchbay:session', sessionId: id, status: 'authorized' }, location.origin);
      send({ source: 'patchbay', type: 'patchbay:session', sessionId: 'ses_someoneelsexxxxxxxxxxx', status: 'authorized' }, location.origin);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await counts(id)).reads).to.equal(before, 'ignored messages caused no session read');
      send({ source: 'patchbay', type: 'patchbay:session', sessionId: id, status: 'authorized' }, location.origin);
      await waitUntil(async () => (await counts(id)).reads > before, 'the right message triggers a re-read');
    });

    it('does not trust the message itself: a message saying "authorized" for a session the server calls started does not connect', async () => {
      const { el, id } = await button();
      window.open = (() => fakePopup() as unknown as Window) as typeof window.open;
      base(el).click();
      window.dispatchEvent(new MessageEvent('message', { data: { source: 'patchbay', sessionId: id, status: 'authorized' }, origin: location.origin }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(el.status).to.equal('connecting');
      expect((await counts(id)).commits).to.equal(0);
    });
  });

  describe('when the server reports the outcome', () => {
    it('commits once, waits for the install and emits patchbay-connected, then is accessible in the connected state', async () => {
      const { el, id } = await button();
      window.open = (() => fakePopup() as unknown as Window) as typeof window.open;
      const steps: string[] = [];
      el.addEventListener('patchbay-step', (event) => steps.push(event.detail.step));
      base(el).click();
      await setStatus(id, 'authorized');
      const connected = await oneEvent(el, 'patchbay-connected');
      expect(connected.detail).to.deep.equal({ installId: `ins_${id.slice(4)}`, tenantId: 'tenant-1', integration: 'test' });
      expect(connected.bubbles && connected.composed).to.equal(true, 'the event leaves the shadow root and bubbles');
      expect(steps).to.deep.equal(['authorize', 'commit', 'install', 'done']);
      expect((await counts(id)).commits).to.equal(1);
      await el.updateComplete;
      expect(el.status).to.equal('connected');
      expect(base(el).textContent?.trim()).to.equal('Connected');
      expect(statusLine(el).getAttribute('role')).to.equal('status');
      await expect(el).to.be.accessible();
    });

    it('shows the cancelled state and emits patchbay-cancel (access_denied) when the user declines', async () => {
      const { el, id } = await button();
      window.open = (() => fakePopup() as unknown as Window) as typeof window.open;
      base(el).click();
      await setStatus(id, 'cancelled');
      const cancel = await oneEvent(el, 'patchbay-cancel');
      expect(cancel.detail.reason).to.equal('access_denied');
      await el.updateComplete;
      expect(el.status).to.equal('cancelled');
      expect(statusLine(el).textContent).to.contain('Cancelled');
      await expect(el).to.be.accessible();
    });

    it('shows the error state with a retry and emits patchbay-error when authorization failed', async () => {
      const { el, id } = await button();
      window.open = (() => fakePopup() as unknown as Window) as typeof window.open;
      base(el).click();
      await setStatus(id, 'failed');
      const error = await oneEvent(el, 'patchbay-error');
      expect(error.detail.code).to.equal('provider_error');
      await el.updateComplete;
      expect(el.status).to.equal('error');
      expect(base(el).textContent?.trim()).to.equal('Try again');
      expect(statusLine(el).textContent).to.contain('The provider said no.');
      await expect(el).to.be.accessible();
    });

    it('reports a malformed session token as an error without opening anything', async () => {
      const el = await fixture<ConnectButton>(html`<connect-button integration="test" session-token="pbk_not_a_session_token"></connect-button>`);
      let opens = 0;
      window.open = (() => {
        opens += 1;
        return null;
      }) as typeof window.open;
      setTimeout(() => base(el).click());
      const error = await oneEvent(el, 'patchbay-error');
      expect(error.detail.code).to.equal('invalid_session_token');
      expect(opens).to.equal(0);
    });
  });

  describe('when the sign-in window looks closed', () => {
    /** Records every patchbay-* outcome event the element fires. */
    function outcomes(el: HTMLElement) {
      const seen: string[] = [];
      for (const type of ['patchbay-connected', 'patchbay-cancel', 'patchbay-error'] as const) {
        el.addEventListener(type, (event) =>
          seen.push(type === 'patchbay-cancel' ? `${type}:${(event as CustomEvent<{ reason: string }>).detail.reason}` : type),
        );
      }
      return seen;
    }

    async function clickThenLoseWindow() {
      const { el, id } = await button();
      await setStatus(id, 'started');
      const popup = fakePopup();
      const opened: string[] = [];
      window.open = ((url: string) => {
        opened.push(url);
        return popup as unknown as Window;
      }) as typeof window.open;
      const seen = outcomes(el);
      base(el).click();
      // What a provider's Cross-Origin-Opener-Policy does to the opener's handle while the person types.
      popup.closed = true;
      await waitUntil(() => choice(el, 'reopen'), 'Reopen and Cancel are offered');
      return { el, id, opened, seen };
    }

    it('is not a cancel: the element keeps asking the server, offers Reopen and Cancel, and connects when the server says authorized', async () => {
      const { el, id, seen } = await clickThenLoseWindow();
      expect(el.status).to.equal('connecting');
      expect(statusLine(el).textContent).to.contain('reopen it or cancel');
      await expect(el).to.be.accessible();
      const reads = (await counts(id)).reads;
      await waitUntil(async () => (await counts(id)).reads > reads, 'still checking the server', { timeout: 8000 });
      expect(seen).to.deep.equal([], 'no outcome from a closed-looking window alone');
      await setStatus(id, 'authorized');
      await oneEvent(el, 'patchbay-connected');
      expect(seen).to.deep.equal(['patchbay-connected']);
      expect(choice(el, 'reopen')).to.equal(null, 'the choices are gone once connected');
    });

    it('Reopen opens the start URL again synchronously from the click, and the choices go away while it is open', async () => {
      const { el, id, opened } = await clickThenLoseWindow();
      choice(el, 'reopen')!.click();
      expect(opened).to.have.length(2, 'a second window, opened inside the click');
      expect(new URL(opened[1]!).pathname).to.equal(`/v1/integrations/test/session/${id}/start`);
      await el.updateComplete;
      expect(choice(el, 'reopen')).to.equal(null);
      expect(el.status).to.equal('connecting');
    });

    it('Cancel cancels the session on the server and fires patchbay-cancel once with reason user; the buttons are reachable by keyboard', async () => {
      const { el, id, seen } = await clickThenLoseWindow();
      const cancel = choice(el, 'cancel')!;
      expect(cancel.tagName).to.equal('BUTTON', 'a native button: in the tab order, Enter and Space work');
      expect(cancel.tabIndex).to.equal(0);
      cancel.click();
      const event = await oneEvent(el, 'patchbay-cancel');
      expect(event.detail.reason).to.equal('user');
      expect((await counts(id)).cancels).to.equal(1, 'the server heard the cancel');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(seen).to.deep.equal(['patchbay-cancel:user'], 'exactly once, nothing else');
      await el.updateComplete;
      expect(el.status).to.equal('cancelled');
      expect(base(el).getAttribute('aria-disabled')).to.equal('false', 'the button can be used again');
    });

    it('ends as cancelled with reason expired when the session expires while waiting, and a click then opens nothing', async () => {
      const { el, id, opened, seen } = await clickThenLoseWindow();
      await setStatus(id, 'expired');
      const event = await oneEvent(el, 'patchbay-cancel');
      expect(event.detail.reason).to.equal('expired');
      await el.updateComplete;
      expect(statusLine(el).textContent).to.contain('expired');
      base(el).click();
      expect(opened).to.have.length(1, 'an expired session is not started again');
      expect(seen).to.deep.equal(['patchbay-cancel:expired', 'patchbay-error']);
    });
  });

  describe('resuming from the server’s state (remount, reload)', () => {
    async function render(token: { token: string }) {
      return fixture<ConnectButton>(html`<connect-button integration="test" session-token=${token.token} server=${location.origin}></connect-button>`);
    }
    let opens = 0;
    beforeEach(() => {
      opens = 0;
      window.open = (() => {
        opens += 1;
        return fakePopup() as unknown as Window;
      }) as typeof window.open;
    });

    it('installs an authorized session with no click and no window', async () => {
      const token = newToken();
      await setStatus(token.id, 'authorized');
      const connected = oneEvent(document, 'patchbay-connected');
      const el = await render(token);
      expect((await connected).detail.installId).to.equal(`ins_${token.id.slice(4)}`);
      await el.updateComplete;
      expect(el.status).to.equal('connected');
      expect(opens).to.equal(0);
      expect((await counts(token.id)).commits).to.equal(1);
    });

    it('waits for the install of a committed session and shows connected', async () => {
      const token = newToken();
      await setStatus(token.id, 'committed');
      const connected = oneEvent(document, 'patchbay-connected');
      const el = await render(token);
      await connected;
      await el.updateComplete;
      expect(el.status).to.equal('connected');
      expect(opens).to.equal(0);
    });

    it('keeps listening to a started session, offering Reopen and Cancel since no window is known, and connects without a click', async () => {
      const token = newToken();
      await setStatus(token.id, 'started');
      const el = await render(token);
      await waitUntil(() => choice(el, 'reopen'), 'the choices are offered');
      expect(el.status).to.equal('connecting');
      await expect(el).to.be.accessible();
      await setStatus(token.id, 'authorized');
      await oneEvent(el, 'patchbay-connected');
      expect(opens).to.equal(0, 'no second window for a session already signing in');
    });

    it('resumes after a remount, and two elements holding one token commit once', async () => {
      const token = newToken();
      await setStatus(token.id, 'started');
      const el = await render(token);
      await waitUntil(() => el.status === 'connecting');
      const parent = el.parentElement!;
      el.remove();
      parent.append(el);
      const twin = await render(token);
      await waitUntil(() => twin.status === 'connecting');
      await setStatus(token.id, 'authorized');
      await Promise.all([oneEvent(el, 'patchbay-connected'), oneEvent(twin, 'patchbay-connected')]);
      expect((await counts(token.id)).commits).to.equal(1, 'one commit for the page');
      expect(opens).to.equal(0);
    });

    it('shows idle for a created session, and the cancelled state without an event for a session cancelled earlier', async () => {
      const fresh = newToken();
      const idle = await render(fresh);
      await waitUntil(async () => (await counts(fresh.id)).reads >= 1);
      expect(idle.status).to.equal('idle');
      const old = newToken();
      await setStatus(old.id, 'cancelled');
      const events: Event[] = [];
      document.addEventListener('patchbay-cancel', (event) => events.push(event), { once: true });
      const cancelled = await render(old);
      await waitUntil(() => cancelled.status === 'cancelled');
      expect(events).to.have.length(0, 'the host heard that cancel when it happened');
    });

    it('shows a clear error and fires patchbay-error session_expired for an expired session, never a spinner', async () => {
      const token = newToken();
      await setStatus(token.id, 'expired');
      const error = oneEvent(document, 'patchbay-error');
      const el = await render(token);
      expect((await error).detail.code).to.equal('session_expired');
      await el.updateComplete;
      expect(el.status).to.equal('error');
      expect(base(el).getAttribute('aria-busy')).to.equal('false');
      expect(statusLine(el).textContent).to.contain('expired');
      await expect(el).to.be.accessible();
    });

    it('fires patchbay-error invalid_session_token on render for a malformed token', async () => {
      const error = oneEvent(document, 'patchbay-error');
      const el = await fixture<ConnectButton>(html`<connect-button integration="test" session-token="ses_short_secret_x"></connect-button>`);
      expect((await error).detail.code).to.equal('invalid_session_token');
      await el.updateComplete;
      expect(el.status).to.equal('error');
    });
  });

  describe('registration', () => {
    it('does nothing when the element is defined a second time (a page that loads the script twice)', async () => {
      const { ConnectButton } = await import('./connect-button.component.js');
      expect(() => ConnectButton.define('connect-button')).not.to.throw();
      expect(customElements.get('connect-button')).to.not.equal(undefined);
    });
  });
});

describe('session tokens', () => {
  it('yields the session id of a well-formed token and null for anything else', () => {
    const { id, token } = newToken();
    expect(sessionIdOf(token)).to.equal(id);
    for (const bad of ['', 'pbk_x', `${id}_secret_`, `${id}secret_${'s'.repeat(22)}`, 'ses_short_secret_xxxxxxxxxxxxxxxxxxxxxx', null, undefined]) {
      expect(sessionIdOf(bad as string | null | undefined)).to.equal(null, String(bad));
    }
  });
});
