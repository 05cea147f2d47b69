import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { sendKeys, setViewport } from '@web/test-runner-commands';
import { capturePopups, counts, fakePopup, newToken, setStatus } from '../../test-support/stand-in.js';
import type { ConnectorPicker } from './connector-picker.component.js';
import './connector-picker.js';

const part = <T extends HTMLElement = HTMLElement>(el: ConnectorPicker, name: string) => el.shadowRoot!.querySelector<T>(`[part~="${name}"]`)!;
const options = (el: ConnectorPicker) => [...el.shadowRoot!.querySelectorAll<HTMLElement>('[part~="option"]')];
const names = (el: ConnectorPicker) => options(el).map((option) => option.querySelector('[part~="name"]')!.textContent!.trim());
const activeName = (el: ConnectorPicker) => {
  const id = part<HTMLInputElement>(el, 'search').getAttribute('aria-activedescendant');
  return id ? el.shadowRoot!.getElementById(id)!.querySelector('[part~="name"]')!.textContent!.trim() : null;
};
const option = (el: ConnectorPicker, slug: string) => el.shadowRoot!.querySelector<HTMLElement>(`[part~="option"][data-slug="${slug}"]`)!;
const deepActive = () => {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
};

async function picker(integration = 'catalog', token = newToken()) {
  const el = await fixture<ConnectorPicker>(
    html`<connector-picker integration=${integration} session-token=${token.token} server=${location.origin}></connector-picker>`,
  );
  await el.catalog.taskComplete.catch(() => undefined);
  await el.updateComplete;
  return { el, ...token };
}

/** Selects what is in the search field, so the next typed text replaces it. */
async function retype(el: ConnectorPicker, text: string) {
  part<HTMLInputElement>(el, 'search').select();
  await sendKeys({ type: text });
  await el.updateComplete;
}

/** Opens the picker the way a keyboard user does: Tab to the trigger, then Enter. */
async function openWithKeyboard(el: ConnectorPicker) {
  part(el, 'trigger').focus();
  await sendKeys({ press: 'Enter' });
  await waitUntil(() => el.open && deepActive() === part(el, 'search'), 'the search field has the focus');
}

describe('<connector-picker>', () => {
  let popups: ReturnType<typeof capturePopups> | null = null;
  afterEach(() => {
    popups?.restore();
    popups = null;
  });

  describe('the catalog', () => {
    it('lists every connector the session allows with its icon, name, description and domain, in a listbox of options', async () => {
      const { el } = await picker();
      await el.show();
      expect(names(el)).to.deep.equal(['Slack', 'GitHub', 'Salesforce', 'Café POS', 'HubSpot', 'Notion']);
      expect(part(el, 'listbox').getAttribute('role')).to.equal('listbox');
      expect(options(el).every((item) => item.getAttribute('role') === 'option')).to.equal(true);
      const slack = option(el, 'slack');
      expect(slack.querySelector('[part~="icon"]')).to.not.equal(null);
      expect(slack.querySelector('[part~="description"]')!.textContent).to.contain('Messages and channels').and.to.contain('slack.com');
    });

    it('shows each of the four states for this tenant: Connect, + Add connection with Connected, and Needs re-auth with Reconnect', async () => {
      const { el } = await picker();
      await el.show();
      const texts = (slug: string) => ({
        state: option(el, slug).querySelector('[part~="state"]')?.textContent?.trim() ?? null,
        action: option(el, slug).querySelector('[part~="action"]')!.textContent!.trim(),
      });
      expect(texts('slack')).to.deep.equal({ state: null, action: 'Connect' });
      expect(texts('github')).to.deep.equal({ state: 'Connected', action: '+ Add connection' });
      expect(texts('salesforce')).to.deep.equal({ state: 'Needs re-auth', action: 'Reconnect' });
      await expect(el).to.be.accessible();
    });

    it('keeps the name, the state badge and the action apart on a phone-wide popover: the badge wraps under the name', async () => {
      await setViewport({ width: 360, height: 640 });
      try {
        const { el } = await picker();
        await el.show();
        const overlap = (a: DOMRect, b: DOMRect) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        for (const slug of ['github', 'salesforce']) {
          const partOf = (which: string) => option(el, slug).querySelector<HTMLElement>(`[part~="${which}"]`)!;
          const name = partOf('name');
          const [nameBox, stateBox, actionBox] = [name, partOf('state'), partOf('action')].map((element) => element.getBoundingClientRect()) as [
            DOMRect,
            DOMRect,
            DOMRect,
          ];
          expect(overlap(nameBox, stateBox), `${slug}: name and state badge overlap`).to.equal(false);
          expect(overlap(nameBox, actionBox) || overlap(stateBox, actionBox), `${slug}: the action overlaps the name or badge`).to.equal(false);
          expect(name.scrollWidth, `${slug}: the name is cut off`).to.be.at.most(name.clientWidth);
        }
      } finally {
        await setViewport({ width: 800, height: 600 });
      }
    });

    it('shows a loading message while the catalog is on its way', async () => {
      const token = newToken();
      const el = await fixture<ConnectorPicker>(html`<connector-picker integration="slow" session-token=${token.token}></connector-picker>`);
      await el.show();
      expect(part(el, 'message').dataset['kind']).to.equal('loading');
      expect(part(el, 'message').textContent).to.contain('Loading');
      await expect(el).to.be.accessible();
      await el.catalog.taskComplete;
      await el.updateComplete;
      expect(names(el)).to.have.length(6);
    });

    it('says so when the session allows no connector', async () => {
      const { el } = await picker('empty');
      await el.show();
      expect(part(el, 'message').dataset['kind']).to.equal('empty');
      expect(options(el)).to.have.length(0);
      await expect(el).to.be.accessible();
    });

    it('shows the server’s error with a retry that loads the catalog again', async () => {
      const { el, id } = await picker('broken');
      await el.show();
      expect(part(el, 'message').dataset['kind']).to.equal('error');
      expect(part(el, 'message').textContent).to.contain('The catalog is resting.');
      await expect(el).to.be.accessible();
      const before = (await counts(id)).catalogReads;
      part(el, 'retry').click();
      await waitUntil(async () => (await counts(id)).catalogReads === before + 1, 'retry asked the server again');
    });
  });

  describe('search', () => {
    it('filters as you type, ignoring case and accents, and matches descriptions and domains too', async () => {
      const { el } = await picker();
      await openWithKeyboard(el);
      await sendKeys({ type: 'cafe' });
      await el.updateComplete;
      expect(names(el)).to.deep.equal(['Café POS']);
      await retype(el, 'DEALS');
      expect(names(el)).to.deep.equal(['HubSpot'], 'description match');
      await retype(el, 'notion.so');
      expect(names(el)).to.deep.equal(['Notion'], 'domain match');
    });

    it('says nothing matched, and makes the first match the active option when there is one', async () => {
      const { el } = await picker();
      await openWithKeyboard(el);
      await sendKeys({ type: 'zzz' });
      await el.updateComplete;
      expect(options(el)).to.have.length(0);
      expect(part(el, 'message').dataset['kind']).to.equal('no-match');
      expect(part(el, 'search').hasAttribute('aria-activedescendant')).to.equal(false);
      await expect(el).to.be.accessible();
      await retype(el, 'hub');
      expect(activeName(el)).to.equal('GitHub');
    });
  });

  describe('keyboard only', () => {
    it('opens with Enter, moves with the arrows, Home and End, and keeps aria-activedescendant on the active option', async () => {
      const { el } = await picker();
      await openWithKeyboard(el);
      expect(part(el, 'trigger').getAttribute('aria-expanded')).to.equal('true');
      expect(activeName(el)).to.equal('Slack');
      await sendKeys({ press: 'ArrowDown' });
      await el.updateComplete;
      expect(activeName(el)).to.equal('GitHub');
      await sendKeys({ press: 'End' });
      await el.updateComplete;
      expect(activeName(el)).to.equal('Notion');
      await sendKeys({ press: 'ArrowDown' });
      await el.updateComplete;
      expect(activeName(el)).to.equal('Notion', 'the last option stays active at the end');
      await sendKeys({ press: 'Home' });
      await el.updateComplete;
      expect(activeName(el)).to.equal('Slack');
      await sendKeys({ press: 'ArrowUp' });
      await el.updateComplete;
      expect(activeName(el)).to.equal('Slack', 'the first option stays active at the start');
      const active = option(el, 'slack');
      expect(active.getAttribute('aria-selected')).to.equal('true');
      expect(active.getAttribute('part')).to.contain('option-active');
      await expect(el).to.be.accessible();
    });

    it('closes with Escape and gives the focus back to the trigger', async () => {
      const { el } = await picker();
      await openWithKeyboard(el);
      await sendKeys({ press: 'Escape' });
      await el.updateComplete;
      expect(el.open).to.equal(false);
      expect(part(el, 'popover').hidden).to.equal(true);
      expect(deepActive()).to.equal(part(el, 'trigger'));
      expect(part(el, 'trigger').getAttribute('aria-expanded')).to.equal('false');
    });

    it('chooses the active connector with Enter: the popup opens at once for that connector', async () => {
      const { el, id } = await picker();
      popups = capturePopups();
      await openWithKeyboard(el);
      await sendKeys({ type: 'slack' });
      await el.updateComplete;
      await sendKeys({ press: 'Enter' });
      expect(popups.opened).to.have.length(1);
      const url = new URL(popups.opened[0]!);
      expect(url.pathname).to.equal(`/v1/integrations/catalog/session/${id}/start`);
      expect(url.searchParams.get('connector')).to.equal('slack');
      expect(url.searchParams.get('mode')).to.equal('popup');
      expect(url.searchParams.has('reauth')).to.equal(false);
      await el.updateComplete;
      expect(el.open).to.equal(false);
      expect(part(el, 'trigger').getAttribute('aria-busy')).to.equal('true');
      expect(part(el, 'status').textContent).to.contain('Connecting Slack');
    });

    it('re-authorizes the connection that needs it when the user chooses a connector in Needs re-auth', async () => {
      const { el } = await picker();
      popups = capturePopups();
      await openWithKeyboard(el);
      await sendKeys({ type: 'sales' });
      await el.updateComplete;
      const request = oneEvent(el, 'patchbay-request-connect');
      await sendKeys({ press: 'Enter' });
      expect((await request).detail).to.deep.equal({ connector: 'salesforce', choice: 'reconnect', connectionId: 'con_SalesforceOld000000000' });
      const url = new URL(popups.opened[0]!);
      expect(url.searchParams.get('reauth')).to.equal('con_SalesforceOld000000000');
    });
  });

  describe('the flow', () => {
    it('runs the same flow as <connect-button>: commit, install, then patchbay-connected naming the connector and a fresh catalog', async () => {
      const { el, id } = await picker();
      popups = capturePopups();
      const steps: string[] = [];
      el.addEventListener('patchbay-step', (event) => steps.push(event.detail.step));
      await el.show();
      option(el, 'github').click();
      expect(new URL(popups.opened[0]!).searchParams.get('connector')).to.equal('github');
      const readsBefore = (await counts(id)).catalogReads;
      await setStatus(id, 'authorized');
      const connected = await oneEvent(el, 'patchbay-connected');
      expect(connected.detail).to.deep.equal({ installId: `ins_${id.slice(4)}`, tenantId: 'tenant-1', integration: 'catalog', connector: 'github' });
      expect(steps).to.deep.equal(['authorize', 'commit', 'install', 'done']);
      await waitUntil(async () => (await counts(id)).catalogReads > readsBefore, 'the catalog is read again to show the new state');
      await el.updateComplete;
      expect(part(el, 'status').textContent).to.contain('GitHub is connected.');
      await expect(el).to.be.accessible();
    });

    it('does not reuse a session that already connected an app: it asks for a new one and opens nothing', async () => {
      const { el, id } = await picker();
      popups = capturePopups();
      await el.show();
      option(el, 'slack').click();
      await setStatus(id, 'authorized');
      await oneEvent(el, 'patchbay-connected');
      await el.show();
      option(el, 'notion').click();
      await el.updateComplete;
      expect(popups.opened).to.have.length(1);
      expect(part(el, 'status').textContent).to.contain('session is used up');
    });

    it('lets the host veto a choice with preventDefault on patchbay-request-connect', async () => {
      const { el } = await picker();
      popups = capturePopups();
      el.addEventListener('patchbay-request-connect', (event) => event.preventDefault());
      await el.show();
      option(el, 'slack').click();
      expect(popups.opened).to.have.length(0);
      expect(el.flow.running).to.equal(false);
    });

    it('reports a cancel when the user declines at the provider, and can be used again', async () => {
      const { el, id } = await picker();
      popups = capturePopups();
      await el.show();
      option(el, 'hubspot').click();
      await setStatus(id, 'cancelled');
      const cancel = await oneEvent(el, 'patchbay-cancel');
      expect(cancel.detail.reason).to.equal('access_denied');
      await el.updateComplete;
      expect(part(el, 'status').textContent).to.contain('HubSpot was not connected');
      expect(part(el, 'trigger').getAttribute('aria-busy')).to.equal('false');
    });

    it('offers Reopen and Cancel in its status area when the window looks closed; Cancel cancels on the server, once, with reason user', async () => {
      const { el, id } = await picker();
      const popup = fakePopup();
      popups = capturePopups(popup);
      const cancels: string[] = [];
      el.addEventListener('patchbay-cancel', (event) => cancels.push(event.detail.reason));
      await el.show();
      option(el, 'slack').click();
      popup.closed = true;
      await waitUntil(() => el.shadowRoot!.querySelector('[part~="reopen"]'), 'the choices are offered');
      expect(part(el, 'status').textContent).to.contain('Slack');
      expect(cancels).to.deep.equal([], 'a closed-looking window is no cancel');
      await expect(el).to.be.accessible();
      popup.closed = false;
      part<HTMLButtonElement>(el, 'reopen').click();
      expect(popups.opened).to.have.length(2, 'Reopen opened the start URL again inside the click');
      expect(new URL(popups.opened[1]!).searchParams.get('connector')).to.equal('slack');
      await el.updateComplete;
      expect(el.shadowRoot!.querySelector('[part~="reopen"]')).to.equal(null, 'no choices while the window is open');
      popup.closed = true;
      await waitUntil(() => el.shadowRoot!.querySelector('[part~="cancel"]'));
      part<HTMLButtonElement>(el, 'cancel').click();
      await oneEvent(el, 'patchbay-cancel');
      expect(cancels).to.deep.equal(['user']);
      expect((await counts(id)).cancels).to.equal(1);
    });

    it('resumes an authorized session when it renders: connected with no click and no window', async () => {
      const token = newToken();
      await setStatus(token.id, 'authorized');
      popups = capturePopups();
      const connected = oneEvent(document, 'patchbay-connected');
      const { el } = await picker('test', token);
      await connected;
      await waitUntil(() => part(el, 'status').dataset.status === 'connected');
      expect(popups.opened).to.have.length(0);
      expect((await counts(token.id)).commits).to.equal(1);
    });
  });

  describe('the popover', () => {
    it('opens below the trigger when there is room and flips above it near the bottom edge of the viewport', async () => {
      const token = newToken();
      const wrapper = await fixture<HTMLDivElement>(html`
        <div style="position: fixed; left: 16px; top: 16px;">
          <connector-picker integration="catalog" session-token=${token.token}></connector-picker>
        </div>
      `);
      const el = wrapper.querySelector('connector-picker')!;
      await el.catalog.taskComplete;
      await el.show();
      await waitUntil(() => part(el, 'popover').dataset['placement'], 'positioned');
      const triggerBox = part(el, 'trigger').getBoundingClientRect();
      expect(part(el, 'popover').dataset['placement']).to.equal('bottom-start');
      expect(part(el, 'popover').getBoundingClientRect().top).to.be.at.least(triggerBox.bottom);
      el.hide();

      wrapper.style.top = '';
      wrapper.style.bottom = '8px';
      await el.show();
      await waitUntil(() => part(el, 'popover').dataset['placement']?.startsWith('top'), 'flipped above the trigger');
      const flippedTrigger = part(el, 'trigger').getBoundingClientRect();
      const popoverBox = part(el, 'popover').getBoundingClientRect();
      expect(popoverBox.bottom).to.be.at.most(flippedTrigger.top);
      expect(popoverBox.top).to.be.at.least(0, 'the popover stays inside the viewport');
    });

    it('closes on a click outside without stealing the focus', async () => {
      const { el } = await picker();
      await el.show();
      document.body.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, composed: true }));
      await el.updateComplete;
      expect(el.open).to.equal(false);
    });
  });
});
