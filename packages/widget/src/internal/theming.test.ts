import { expect, fixture, html } from '@open-wc/testing';
import type { ConnectButton } from '../components/connect-button/connect-button.component.js';
import type { ConnectorPicker } from '../components/connector-picker/connector-picker.component.js';
import '../components/connect-button/connect-button.js';
import '../components/connector-picker/connector-picker.js';
import { newToken } from '../test-support/stand-in.js';

const style = (el: HTMLElement, part: string) => getComputedStyle(el.shadowRoot!.querySelector(`[part~="${part}"]`)!);

describe('theming', () => {
  it('applies the documented --patchbay-* properties a host sets, read back through the parts', async () => {
    const { token } = newToken();
    const wrapper = await fixture<HTMLDivElement>(html`
      <div style="--patchbay-color-primary: rgb(10, 120, 60); --patchbay-color-on-primary: rgb(250, 250, 240); --patchbay-radius: 3px; --patchbay-font-family: Georgia, serif; --patchbay-font-size: 18px; --patchbay-connect-button-padding: 4px 20px; --patchbay-color-surface: rgb(255, 250, 235); --patchbay-connector-picker-width: 300px;">
        <connect-button integration="test" session-token=${token}></connect-button>
        <connector-picker integration="test" session-token=${token}></connector-picker>
      </div>
    `);
    const button = wrapper.querySelector<ConnectButton>('connect-button')!;
    const base = style(button, 'base');
    expect(base.backgroundColor).to.equal('rgb(10, 120, 60)');
    expect(base.color).to.equal('rgb(250, 250, 240)');
    expect(base.borderTopLeftRadius).to.equal('3px');
    expect(base.fontFamily).to.contain('Georgia');
    expect(base.fontSize).to.equal('18px');
    expect(base.paddingLeft).to.equal('20px');

    const picker = wrapper.querySelector<ConnectorPicker>('connector-picker')!;
    await picker.show();
    expect(style(picker, 'trigger').backgroundColor).to.equal('rgb(10, 120, 60)');
    expect(style(picker, 'popover').backgroundColor).to.equal('rgb(255, 250, 235)');
    expect(style(picker, 'popover').width).to.equal('300px');
  });

  it('lets a host style named parts with ::part', async () => {
    const { token } = newToken();
    const host = await fixture<HTMLDivElement>(html`
      <div>
        <style>
          .branded::part(base) { text-transform: uppercase; letter-spacing: 2px; }
        </style>
        <connect-button class="branded" integration="test" session-token=${token}></connect-button>
      </div>
    `);
    const base = style(host.querySelector('connect-button')!, 'base');
    expect(base.textTransform).to.equal('uppercase');
    expect(base.letterSpacing).to.equal('2px');
  });

  it('stays light with theme="light", goes dark with theme="dark", and otherwise follows the system scheme', async () => {
    const { token } = newToken();
    const wrapper = await fixture<HTMLDivElement>(html`
      <div>
        <connector-picker integration="test" session-token=${token}></connector-picker>
        <connector-picker theme="light" integration="test" session-token=${token}></connector-picker>
        <connector-picker theme="dark" integration="test" session-token=${token}></connector-picker>
      </div>
    `);
    const [auto, light, dark] = [...wrapper.querySelectorAll<ConnectorPicker>('connector-picker')];
    for (const picker of [auto!, light!, dark!]) await picker.show();
    const background = (picker: ConnectorPicker) => style(picker, 'popover').backgroundColor;
    const systemIsDark = matchMedia('(prefers-color-scheme: dark)').matches;
    expect(background(auto!)).to.equal(systemIsDark ? 'rgb(31, 41, 55)' : 'rgb(255, 255, 255)', 'auto follows the system');
    expect(background(light!)).to.equal('rgb(255, 255, 255)', 'forced light');
    expect(background(dark!)).to.equal('rgb(31, 41, 55)', 'forced dark');
    await dark!.catalog.taskComplete;
    await expect(dark).to.be.accessible();
  });

  it('lays out right to left under dir="rtl": the icon sits at the right of the name', async () => {
    const { token } = newToken();
    const wrapper = await fixture<HTMLDivElement>(
      html`<div dir="rtl" lang="en"><connector-picker integration="test" session-token=${token}></connector-picker></div>`,
    );
    const picker = wrapper.querySelector<ConnectorPicker>('connector-picker')!;
    await picker.catalog.taskComplete;
    await picker.show();
    const option = picker.shadowRoot!.querySelector('[part~="option"]')!;
    const icon = option.querySelector('[part~="icon"]')!.getBoundingClientRect();
    const name = option.querySelector('[part~="name"]')!.getBoundingClientRect();
    expect(icon.left).to.be.greaterThan(name.right);
  });
});
