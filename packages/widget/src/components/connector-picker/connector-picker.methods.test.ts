import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { capturePopups, newToken } from '../../test-support/stand-in.js';
import type { ConnectorPicker } from './connector-picker.component.js';
import './connector-picker.js';

const all = (el: ConnectorPicker, name: string) => [...el.shadowRoot!.querySelectorAll<HTMLElement>(`[part~="${name}"]`)];
const part = (el: ConnectorPicker, name: string) => el.shadowRoot!.querySelector<HTMLElement>(`[part~="${name}"]`);
const option = (el: ConnectorPicker, slug: string) => el.shadowRoot!.querySelector<HTMLElement>(`[part~="option"][data-slug="${slug}"]`)!;
const deepActive = () => {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
};

/** A picker on the mocks' `methods` catalog: Zendesk offers an API key (its default), OAuth and a password. */
async function picker() {
  const token = newToken();
  const el = await fixture<ConnectorPicker>(
    html`<connector-picker integration="methods" session-token=${token.token} server=${location.origin}></connector-picker>`,
  );
  await el.catalog.taskComplete;
  await el.updateComplete;
  await el.show();
  return { el, ...token };
}

describe('<connector-picker> with a connector that offers several auth methods', () => {
  let popups: ReturnType<typeof capturePopups> | null = null;
  afterEach(() => {
    popups?.restore();
    popups = null;
  });

  it('asks how to connect, listing the three methods default first and marked Recommended, with the keyboard on the default', async () => {
    const { el } = await picker();
    popups = capturePopups();
    option(el, 'zendesk').click();
    await waitUntil(() => part(el, 'methods') !== null, 'the method step is shown');
    expect(popups.opened, 'no window before a method is chosen').to.have.length(0);
    const methods = all(el, 'method');
    expect(methods.map((button) => button.dataset.method)).to.deep.equal(['apiKey', 'oauth2', 'basic']);
    expect(methods.map((button) => button.textContent!.replace(/\s+/g, ' ').trim())).to.deep.equal([
      'API key Recommended',
      'Sign in with Zendesk',
      'Username and password',
    ]);
    expect(methods[0]!.getAttribute('part')).to.equal('method method-default');
    expect(part(el, 'methods')!.getAttribute('role')).to.equal('group');
    expect(part(el, 'methods-heading')!.textContent).to.equal('How do you want to connect Zendesk?');
    await waitUntil(() => deepActive() === methods[0], 'the default method has the focus');
    await expect(el).to.be.accessible();
  });

  it('starts the flow with the method picked by keyboard, a non-default one, and names it in patchbay-request-connect', async () => {
    const { el, id } = await picker();
    popups = capturePopups();
    await sendKeys({ type: 'zendesk' });
    await el.updateComplete;
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => deepActive()?.getAttribute('data-method') === 'apiKey', 'the default method has the focus');
    await sendKeys({ press: 'ArrowDown' });
    await sendKeys({ press: 'ArrowDown' });
    expect(deepActive()?.getAttribute('data-method')).to.equal('basic');
    const request = oneEvent(el, 'patchbay-request-connect');
    await sendKeys({ press: 'Enter' });
    expect((await request).detail).to.deep.equal({ connector: 'zendesk', choice: 'connect', connectionId: null, method: 'basic' });
    expect(popups.opened).to.have.length(1);
    const url = new URL(popups.opened[0]!);
    expect(url.pathname).to.equal(`/v1/integrations/methods/session/${id}/start`);
    expect(url.searchParams.get('connector')).to.equal('zendesk');
    expect(url.searchParams.get('method')).to.equal('basic');
    await el.updateComplete;
    expect(el.open).to.equal(false);
  });

  it('goes back to the list with Escape, the keyboard in the search field, and opens on the list again', async () => {
    const { el } = await picker();
    option(el, 'zendesk').click();
    await waitUntil(() => deepActive()?.getAttribute('data-method') === 'apiKey', 'the method step has the focus');
    await sendKeys({ press: 'Escape' });
    await waitUntil(() => deepActive() === part(el, 'search'), 'the search field has the focus');
    expect(part(el, 'methods')).to.equal(null);
    expect(el.open).to.equal(true);

    option(el, 'zendesk').click();
    await waitUntil(() => part(el, 'back') !== null);
    part(el, 'back')!.click();
    await waitUntil(() => deepActive() === part(el, 'search'), 'Back returns to the search field');
    option(el, 'zendesk').click();
    await waitUntil(() => part(el, 'methods') !== null);
    el.hide();
    await el.show();
    expect(part(el, 'methods'), 'the popover opens on the list').to.equal(null);
  });

  it('starts a connector with one method at once, without asking', async () => {
    const { el } = await picker();
    popups = capturePopups();
    option(el, 'slack').click();
    expect(popups.opened).to.have.length(1);
    expect(new URL(popups.opened[0]!).searchParams.has('method')).to.equal(false);
  });
});
