import { expect, fixture, html } from '@open-wc/testing';
import { emulateMedia } from '@web/test-runner-commands';
import type { ConnectorPicker } from '../components/connector-picker/connector-picker.component.js';
import '../components/connector-picker/connector-picker.js';
import { newToken } from '../test-support/stand-in.js';

// Chromium only (the `.chromium.test.ts` suffix): switching prefers-color-scheme while a page is
// open needs the DevTools protocol's media emulation. Firefox's WebDriver BiDi and WebKit's classic
// WebDriver have no such command; theming.test.ts checks the forced themes in every engine.
const style = (el: HTMLElement, part: string) => getComputedStyle(el.shadowRoot!.querySelector(`[part~="${part}"]`)!);

describe('prefers-color-scheme', () => {
  afterEach(() => emulateMedia({ colorScheme: 'light' }));

  it('follows the system when it turns dark, while theme="light" stays light', async () => {
    const { token } = newToken();
    const wrapper = await fixture<HTMLDivElement>(html`
      <div>
        <connector-picker integration="test" session-token=${token}></connector-picker>
        <connector-picker theme="light" integration="test" session-token=${token}></connector-picker>
      </div>
    `);
    const [auto, light] = [...wrapper.querySelectorAll<ConnectorPicker>('connector-picker')];
    for (const picker of [auto!, light!]) await picker.show();
    const background = (picker: ConnectorPicker) => style(picker, 'popover').backgroundColor;
    await emulateMedia({ colorScheme: 'light' });
    expect(background(auto!)).to.equal('rgb(255, 255, 255)');

    await emulateMedia({ colorScheme: 'dark' });
    expect(background(auto!)).to.equal('rgb(31, 41, 55)', 'auto follows the system');
    expect(background(light!)).to.equal('rgb(255, 255, 255)', 'forced light');
    await auto!.catalog.taskComplete;
    await expect(auto).to.be.accessible();
  });
});
